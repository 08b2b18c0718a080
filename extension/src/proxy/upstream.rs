//! The one shared keep-alive client to the upstream Runtime API: URI and header rewriting,
//! and the retry that survives connections reset while the sandbox was frozen.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{Authority, Uri};
use http::{Method, Request, Response};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::ProxyError;
use super::body::{ProxyBody, Replay, boxed};

/// Connecting to the Runtime API on its local address is immediate; a connect that hangs means
/// it is gone. This bounds only the TCP connect, never the wait for `/next`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Headers that describe one hop's connection, not the message (RFC 9110 §7.6.1). `Trailer` is
/// absent on purpose: see the module docs.
const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    // hyper frames the body it sends itself; a stale length would corrupt the exchange.
    header::CONTENT_LENGTH,
];

/// Copies `src` without hop-by-hop headers (including those `Connection` names and any
/// `Proxy-*`). Header values are copied as bytes, never re-encoded.
pub(crate) fn end_to_end_headers(src: &HeaderMap) -> HeaderMap {
    let named: Vec<HeaderName> = src
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .filter_map(|n| HeaderName::from_bytes(n.trim_ascii()).ok())
        .collect();
    let mut out = HeaderMap::with_capacity(src.len());
    for (name, value) in src {
        let drop = HOP_BY_HOP.contains(name)
            || named.contains(name)
            || name.as_str().starts_with("proxy-");
        if !drop {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Whether a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Resend once after any transport error: the idempotent `GET /next`, whose pooled
    /// connection may have been reset while the sandbox was frozen.
    AnyError,
    /// Resend once only when the connection could not be made (nothing was sent).
    ConnectOnly,
}

/// A request body to send upstream.
pub(crate) enum Outgoing {
    /// Buffered: can be resent.
    Replay(Replay),
    /// Streaming: single shot.
    Stream(ProxyBody),
}

/// The upstream Runtime API and the pooled client talking to it.
pub(crate) struct Upstream {
    authority: Authority,
    host: HeaderValue,
    client: Client<HttpConnector, ProxyBody>,
}

impl Upstream {
    /// Parses `host:port` and builds the shared client.
    pub(crate) fn new(upstream: &str) -> Result<Self, ProxyError> {
        let invalid = |reason: String| ProxyError::InvalidUpstream {
            upstream: upstream.to_owned(),
            reason,
        };
        let authority: Authority = upstream.parse().map_err(|e| invalid(format!("{e}")))?;
        if authority.port_u16().is_none() {
            return Err(invalid("no port".to_owned()));
        }
        if authority.as_str().contains('@') {
            return Err(invalid("credentials are not allowed".to_owned()));
        }
        let host =
            HeaderValue::from_str(authority.as_str()).map_err(|e| invalid(format!("{e}")))?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let client = Client::builder(TokioExecutor::new())
            // The runtime serialises its calls; a couple of idle connections cover the
            // runtime and the proxy's own block/replace posts.
            .pool_max_idle_per_host(4)
            .build(connector);
        Ok(Self {
            authority,
            host,
            client,
        })
    }

    /// `http://<upstream><path_and_query>`.
    pub(crate) fn uri(&self, path_and_query: &str) -> Result<Uri, ProxyError> {
        Uri::builder()
            .scheme("http")
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|source| ProxyError::Uri {
                path: path_and_query.to_owned(),
                source,
            })
    }

    /// Sends one request upstream; `headers` must already be end-to-end only. `Host` is set to
    /// the upstream. No timeout: `/next` legitimately waits for as long as there is no event.
    pub(crate) async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        mut headers: HeaderMap,
        body: Outgoing,
        retry: Retry,
    ) -> Result<Response<Incoming>, ProxyError> {
        headers.insert(header::HOST, self.host.clone());
        let uri = self.uri(path_and_query)?;
        let build = |body: ProxyBody| {
            let mut req = Request::new(body);
            *req.method_mut() = method.clone();
            *req.uri_mut() = uri.clone();
            *req.headers_mut() = headers.clone();
            req
        };
        let fail = |source| ProxyError::Upstream {
            method: method.clone(),
            path: path_and_query.to_owned(),
            source,
        };
        match body {
            Outgoing::Stream(body) => self.client.request(build(body)).await.map_err(fail),
            Outgoing::Replay(replay) => {
                match self.client.request(build(boxed(replay.clone()))).await {
                    Ok(resp) => Ok(resp),
                    Err(e) if retry == Retry::AnyError || e.is_connect() => {
                        tracing::warn!(
                            %method, path = path_and_query, error = %e,
                            "upstream Runtime API request failed; retrying once"
                        );
                        self.client
                            .request(build(boxed(replay)))
                            .await
                            .map_err(fail)
                    }
                    Err(e) => Err(fail(e)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("close, x-hop"));
        h.insert("x-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("proxy-authorization", HeaderValue::from_static("x"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::TRAILER, HeaderValue::from_static("x-t"));
        h.insert(
            "lambda-runtime-trace-id",
            HeaderValue::from_static("Root=1"),
        );
        let out = end_to_end_headers(&h);
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["trailer", "lambda-runtime-trace-id"]);
    }

    #[test]
    fn upstream_address_is_checked() {
        assert!(Upstream::new("127.0.0.1:9001").is_ok());
        assert!(Upstream::new("localhost").is_err());
        assert!(Upstream::new("a b:1").is_err());
        assert!(Upstream::new("u@h:1").is_err());
        assert!(Upstream::new("").is_err());
    }
}
