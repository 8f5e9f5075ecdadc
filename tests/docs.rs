//! docs/facts.md lists every fact the code defines, with its meaning: the
//! generated section is compared with the registry (RECOUP_UPDATE_DOCS=1
//! rewrites it).

use crate::common::repo;
use recoup::facts::registry::{FactDef, Facts};
use recoup::facts::{Calendar, CustomerFacts, InvoiceFacts};

const BEGIN: &str = "<!-- BEGIN GENERATED: fact tables";
const END: &str = "<!-- END GENERATED -->";

fn table(title: &str, defs: &[FactDef]) -> String {
    let mut s = format!("\n## {title}\n\n| fact | type | meaning |\n|---|---|---|\n");
    for d in defs {
        let ty = format!("{:?}", d.ty).to_lowercase();
        s.push_str(&format!("| `{}.{}` | {ty} | {} |\n", d.scope.prefix(), d.name, d.doc));
    }
    s
}

#[test]
fn facts_doc_lists_every_fact() {
    let path = repo("docs/facts.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc.find(BEGIN).expect("begin marker");
    let body_start = start + doc[start..].find("-->").unwrap() + 3;
    let end = doc.find(END).expect("end marker");
    let generated = format!(
        "\n{}{}{}\n",
        table("Customer facts", CustomerFacts::defs()),
        table("Invoice facts", InvoiceFacts::defs()),
        table("Calendar facts", Calendar::defs())
    );
    if std::env::var_os("RECOUP_UPDATE_DOCS").is_some() {
        let new = format!("{}{}{}", &doc[..body_start], generated, &doc[end..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    assert_eq!(&doc[body_start..end], generated, "docs/facts.md is stale: run RECOUP_UPDATE_DOCS=1 cargo test docs");
}
