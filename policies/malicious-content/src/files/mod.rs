//! File and network reach: path traversal / local file inclusion ([`lfi`]), remote file
//! inclusion ([`rfi`]) and server-side request forgery ([`ssrf`]). URL and host parsing shared
//! by the three lives in [`url`]; the sensitive-file lists in [`lists`].

mod lfi;
mod lists;
mod rfi;
mod ssrf;
pub mod url;

pub use lfi::lfi;
pub use rfi::rfi;
pub use ssrf::ssrf;
