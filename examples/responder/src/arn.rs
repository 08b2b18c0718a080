//! arn: the few ARN shapes the responder reads (topics, queues, roles, users, role sessions).

use std::fmt;

/// `arn:<partition>:<service>:<region>:<account>:<resource>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    /// `sns`, `sqs`, `iam`, `sts`…
    pub service: String,
    /// Empty for global services (IAM).
    pub region: String,
    /// Account id.
    pub account: String,
    /// Everything after the fifth colon.
    pub resource: String,
}

impl Arn {
    /// Splits an ARN; the resource may itself contain colons.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut it = s.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
        )
        else {
            return Err(format!(
                "{s}: not an ARN (arn:<partition>:<service>:<region>:<account>:<resource>)"
            ));
        };
        if !partition.starts_with("aws") || service.is_empty() || resource.is_empty() {
            return Err(format!(
                "{s}: not an ARN (arn:<partition>:<service>:<region>:<account>:<resource>)"
            ));
        }
        Ok(Self {
            partition: partition.into(),
            service: service.into(),
            region: region.into(),
            account: account.into(),
            resource: resource.into(),
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

fn regional(s: &str, service: &str, what: &str) -> Result<Arn, String> {
    let a = Arn::parse(s)?;
    let ok = a.service == service
        && !a.region.is_empty()
        && a.account.len() == 12
        && a.account.bytes().all(|b| b.is_ascii_digit())
        && !a.resource.contains(['/', ':']);
    if ok {
        Ok(a)
    } else {
        Err(format!(
            "{s}: not an {what} ARN (arn:aws:{service}:<region>:<account>:<name>)"
        ))
    }
}

/// An SNS topic ARN.
pub fn topic(s: &str) -> Result<Arn, String> {
    regional(s, "sns", "SNS topic")
}

/// An SQS queue ARN.
pub fn queue(s: &str) -> Result<Arn, String> {
    regional(s, "sqs", "SQS queue")
}

/// An IAM principal the responder can revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A role, named directly or through one of its sessions.
    Role {
        /// The role's name (the last path segment; IAM calls take the name only).
        name: String,
        /// `arn:<partition>:iam::<account>:role/<name>`; for a session the path is unknown and
        /// left out.
        arn: String,
    },
    /// An IAM user.
    User {
        /// The user's name.
        name: String,
        /// The user's ARN as given.
        arn: String,
    },
}

impl Principal {
    /// Resolves `arn:…:iam::<acct>:role/<path/name>`, `arn:…:sts::<acct>:assumed-role/<name>/<session>`
    /// and `arn:…:iam::<acct>:user/<path/name>`; anything else (root, federated users, groups,
    /// service principals) is not something the responder revokes.
    pub fn parse(s: &str) -> Result<Self, String> {
        let a = Arn::parse(s)?;
        let last = |r: &str| r.rsplit('/').next().unwrap_or("").to_string();
        match (a.service.as_str(), a.resource.split_once('/')) {
            ("iam", Some(("role", rest))) if !rest.is_empty() => Ok(Principal::Role {
                name: last(rest),
                arn: s.to_string(),
            }),
            ("iam", Some(("user", rest))) if !rest.is_empty() => Ok(Principal::User {
                name: last(rest),
                arn: s.to_string(),
            }),
            ("sts", Some(("assumed-role", rest))) => match rest.split_once('/') {
                Some((name, _session)) if !name.is_empty() => Ok(Principal::Role {
                    name: name.to_string(),
                    arn: format!("arn:{}:iam::{}:role/{name}", a.partition, a.account),
                }),
                _ => Err(format!("{s}: an assumed-role ARN needs <role>/<session>")),
            },
            _ => Err(format!(
                "{s}: only IAM roles, role sessions and IAM users can be revoked"
            )),
        }
    }

    /// The role's or user's name.
    pub fn name(&self) -> &str {
        match self {
            Principal::Role { name, .. } | Principal::User { name, .. } => name,
        }
    }

    /// The role's or user's ARN (a session resolved to its role).
    pub fn arn(&self) -> &str {
        match self {
            Principal::Role { arn, .. } | Principal::User { arn, .. } => arn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_and_queues() {
        let t = topic("arn:aws:sns:us-east-1:123456789012:alerts").unwrap();
        assert_eq!(
            (t.region.as_str(), t.resource.as_str()),
            ("us-east-1", "alerts")
        );
        assert_eq!(t.to_string(), "arn:aws:sns:us-east-1:123456789012:alerts");
        assert!(queue("arn:aws:sqs:eu-west-1:123456789012:q.fifo").is_ok());
        assert!(topic("arn:aws:sqs:us-east-1:123456789012:q").is_err());
        assert!(topic("arn:aws:sns:us-east-1:1234:alerts").is_err());
        assert!(topic("alerts").is_err());
    }

    #[test]
    fn principals() {
        assert_eq!(
            Principal::parse("arn:aws:iam::123456789012:role/ops/contractor").unwrap(),
            Principal::Role {
                name: "contractor".into(),
                arn: "arn:aws:iam::123456789012:role/ops/contractor".into()
            }
        );
        assert_eq!(
            Principal::parse("arn:aws:sts::123456789012:assumed-role/contractor/mallory").unwrap(),
            Principal::Role {
                name: "contractor".into(),
                arn: "arn:aws:iam::123456789012:role/contractor".into()
            }
        );
        assert_eq!(
            Principal::parse("arn:aws:iam::123456789012:user/bob").unwrap(),
            Principal::User {
                name: "bob".into(),
                arn: "arn:aws:iam::123456789012:user/bob".into()
            }
        );
        for bad in [
            "arn:aws:iam::123456789012:root",
            "arn:aws:sts::123456789012:federated-user/bob",
            "arn:aws:sts::123456789012:assumed-role/contractor",
            "arn:aws:iam::123456789012:group/admins",
        ] {
            assert!(Principal::parse(bad).is_err(), "{bad}");
        }
    }
}
