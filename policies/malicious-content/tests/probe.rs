use gavel_policy_sdk::views::InputKind;
use malicious_content::{Ctx, cmd, files, lang, sqli, text, xss};
#[test]
fn probe() {
    let v = std::env::var("P").unwrap_or_default();
    let ctx = Ctx { kind: &InputKind::BodyField, name: "" };
    for var in text::variants(&v) {
        let l = var.to_ascii_lowercase();
        println!("{var:?}");
        println!("  sqli {:?}", sqli::scan(&var, &l, ctx));
        println!("  cmd {:?}", cmd::scan(&var, &l, ctx));
        println!("  java {:?} php {:?}", lang::java(&var, &l, ctx), lang::php(&var, &l, ctx));
        println!("  xss {:?}", xss::scan(&var, &l, ctx));
        println!("  ssrf {:?} lfi {:?} rfi {:?}", files::ssrf(&var, &l, ctx), files::lfi(&var, &l, ctx), files::rfi(&var, &l, ctx));
    }
}
