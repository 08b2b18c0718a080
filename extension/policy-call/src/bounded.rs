//! What a policy returns, lifted out of its sandbox only within the host's bounds.
//!
//! The canonical ABI would copy a verdict of any size into host memory before gavel could
//! look at it: a policy returning 100 000 findings within a 16 MiB memory cap raised the
//! host's peak RSS from 25 MB to 53 MB (`gavel policy test`), all of it to be refused. These
//! types read the length of each list and string first, from the pointer pair in the guest's
//! memory, and refuse the output before a byte of it is copied (peak 37 MB, the policy's own
//! memory).

use wasmtime::ValRaw;
use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext};
use wasmtime::component::{ComponentType, Lift};

use crate::bindings::exports::gavel::policy::types::{Decision, Finding, Severity, Verdict};

/// Most findings a verdict may hold.
pub const MAX_FINDINGS: usize = 256;
/// Most actions a verdict may hold.
pub const MAX_ACTIONS: usize = 64;
/// Longest string in a verdict, in bytes.
pub const MAX_FIELD_BYTES: usize = 4096;
/// Longest error message a policy may return, in bytes; the record keeps its first
/// [`MAX_FIELD_BYTES`].
pub const MAX_ERROR_BYTES: usize = 64 << 10;

/// Raised (as the call's error) when a policy's output exceeds a bound.
#[derive(Debug, thiserror::Error)]
#[error("malformed output: {len} {what} (max {max})")]
pub struct OutputTooLarge {
    what: &'static str,
    len: usize,
    max: usize,
}

/// A list or string whose length is checked against `$max` before it is lifted.
macro_rules! bounded {
    ($(#[$doc:meta])* $name:ident($inner:ty), max = $max:expr, what = $what:literal) => {
        $(#[$doc])*
        pub struct $name(pub $inner);

        // SAFETY: same representation and type as `$inner` (a pointer pair); every method
        // delegates to it.
        unsafe impl ComponentType for $name {
            type Lower = [ValRaw; 2];
            const ABI: CanonicalAbiInfo = CanonicalAbiInfo::POINTER_PAIR;

            fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
                <$inner as ComponentType>::typecheck(ty, types)
            }
        }

        // SAFETY: delegates to `$inner` once the length is within bounds.
        unsafe impl Lift for $name {
            fn linear_lift_from_flat(
                cx: &mut LiftContext<'_>,
                ty: InterfaceType,
                src: &Self::Lower,
            ) -> wasmtime::Result<Self> {
                within(src[1].get_u32(), $max, $what)?;
                Ok(Self(<$inner as Lift>::linear_lift_from_flat(cx, ty, src)?))
            }

            fn linear_lift_from_memory(
                cx: &mut LiftContext<'_>,
                ty: InterfaceType,
                bytes: &[u8],
            ) -> wasmtime::Result<Self> {
                // The canonical ABI's pointer pair: the pointer, then the length.
                let len = bytes
                    .get(4..8)
                    .and_then(|b| b.try_into().ok())
                    .map_or(u32::MAX, u32::from_le_bytes);
                within(len, $max, $what)?;
                Ok(Self(<$inner as Lift>::linear_lift_from_memory(cx, ty, bytes)?))
            }
        }
    };
}

fn within(len: u32, max: usize, what: &'static str) -> Result<(), OutputTooLarge> {
    let len = len as usize;
    if len > max {
        return Err(OutputTooLarge { what, len, max });
    }
    Ok(())
}

bounded!(
    /// A string of a verdict, at most [`MAX_FIELD_BYTES`].
    Field(String), max = MAX_FIELD_BYTES, what = "bytes in a string"
);
bounded!(
    /// A policy's error message, at most [`MAX_ERROR_BYTES`].
    Message(String), max = MAX_ERROR_BYTES, what = "bytes in an error message"
);
bounded!(
    /// A verdict's findings, at most [`MAX_FINDINGS`].
    Findings(Vec<BoundedFinding>), max = MAX_FINDINGS, what = "findings"
);
bounded!(
    /// A verdict's actions, at most [`MAX_ACTIONS`].
    Actions(Vec<Field>), max = MAX_ACTIONS, what = "actions"
);

/// `finding`, lifted within bounds.
#[derive(ComponentType, Lift)]
#[component(record)]
pub struct BoundedFinding {
    #[component(name = "rule-id")]
    rule_id: Field,
    severity: Severity,
    message: Field,
    location: Field,
    evidence: Field,
}

/// `verdict`, lifted within bounds.
#[derive(ComponentType, Lift)]
#[component(record)]
pub struct BoundedVerdict {
    decision: Decision,
    findings: Findings,
    actions: Actions,
}

impl From<BoundedVerdict> for Verdict {
    fn from(v: BoundedVerdict) -> Self {
        Verdict {
            decision: v.decision,
            findings: v
                .findings
                .0
                .into_iter()
                .map(|f| Finding {
                    rule_id: f.rule_id.0,
                    severity: f.severity,
                    message: f.message.0,
                    location: f.location.0,
                    evidence: f.evidence.0,
                })
                .collect(),
            actions: v.actions.0.into_iter().map(|a| a.0).collect(),
        }
    }
}
