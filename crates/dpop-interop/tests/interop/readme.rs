//! The workspace README repeats tables that live in the crates' docs; keep them identical. This
//! lives here, in the workspace's unpublished test crate, because a published crate's tests read
//! nothing outside its own directory.

/// The rows of the first Markdown table after `heading` (separator rows left out).
fn table_rows<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    let section = text
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("{heading:?} is in the text"));
    section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .filter(|line| !line.starts_with("|-"))
        .collect()
}

#[test]
fn workspace_readme_htu_table_matches_canonicalize_uri_docs() {
    let docs: Vec<&str> = include_str!("../../../dpop-core/src/htu.rs")
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("/// "))
        .filter(|line| line.starts_with('|') && !line.starts_with("|-"))
        .collect();
    assert!(
        docs.len() > 10,
        "the htu table is in canonicalize_uri's docs"
    );
    let readme = table_rows(
        include_str!("../../../../README.md"),
        "## `htu` canonicalization",
    );
    assert_eq!(readme, docs);
}
