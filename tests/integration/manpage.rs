//! The man page `doc/tini-rs.1` against what the binary's `-h` prints, so the two cannot
//! drift: every option and `TINI_*` variable that `-h` names is described in the man page,
//! and the man page describes no option or variable that `-h` lacks.

use std::collections::BTreeSet;

use crate::harness::{bin, command, run};

fn help() -> String {
    let mut c = command(&[bin(), "-h"]);
    c.env_clear();
    let out = run(c);
    assert_eq!(out.code(), 0, "tini-rs -h: {out}");
    String::from_utf8(out.stdout_bytes.clone()).expect("-h prints UTF-8")
}

fn man_page() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/doc/tini-rs.1");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// Roff source as plain text: `\-` is a hyphen, font changes and special characters go.
fn unroff(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('-') => out.push('-'),
            Some('f') => {
                chars.next(); // the font letter
            }
            Some('(') => {
                chars.next(); // a two-letter special character such as \(bu
                chars.next();
            }
            Some('&') | None => {}
            Some(other) => out.push(other),
        }
    }
    out
}

/// Option names in a piece of text: words that start with `-` and then a letter.
fn options_in(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == '"')
        .filter(|w| {
            let name = w.trim_start_matches('-');
            w.starts_with('-') && name.starts_with(|c: char| c.is_ascii_alphabetic())
        })
        .map(str::to_string)
        .collect()
}

/// `TINI_*` variable names in a piece of text (`TINI_` then capitals and underscores).
fn variables_in(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("TINI_") {
        let tail = &rest[at + 5..];
        let len = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..len].trim_end_matches('_');
        if !name.is_empty() {
            found.insert(format!("TINI_{name}"));
        }
        rest = tail;
    }
    found
}

/// The options in `-h`'s option list: the first column of each line that starts with `-`
/// after its indentation (`  -t, --grace-period DURATION   text...`).
fn help_options(help: &str) -> BTreeSet<String> {
    help.lines()
        .filter(|l| l.starts_with(' ') && l.trim_start().starts_with('-'))
        .flat_map(|l| {
            let l = l.trim_start();
            let column = l.split("  ").next().unwrap_or(l);
            column
                .split(", ")
                .filter_map(|part| part.split_whitespace().next())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The man page's sections: `.SH NAME` -> the lines up to the next `.SH`.
fn sections(man: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in man.lines().filter(|l| !l.starts_with(".\\\"")) {
        if let Some(name) = line.strip_prefix(".SH ") {
            out.push((name.trim_matches('"').to_string(), Vec::new()));
        } else if let Some((_, lines)) = out.last_mut() {
            lines.push(line.to_string());
        }
    }
    out
}

fn section<'a>(all: &'a [(String, Vec<String>)], name: &str) -> &'a [String] {
    all.iter().find(|(n, _)| n == name).map_or_else(
        || panic!("the man page has no .SH {name}"),
        |(_, l)| l.as_slice(),
    )
}

/// The tag lines of a section: the line after each `.TP`.
fn tags(lines: &[String]) -> Vec<String> {
    lines
        .windows(2)
        .filter_map(|w| match w {
            [tp, tag] if tp.trim() == ".TP" => Some(unroff(tag)),
            _ => None,
        })
        .collect()
}

#[test]
fn every_option_of_help_is_described_and_no_other() {
    let from_help = help_options(&help());
    assert!(
        from_help.contains("--version") && from_help.contains("-h") && from_help.len() >= 10,
        "parsing -h found too little: {from_help:?}"
    );
    let all = sections(&man_page());
    let from_man: BTreeSet<String> = tags(section(&all, "OPTIONS"))
        .iter()
        .flat_map(|t| options_in(t))
        .collect();
    let missing: Vec<_> = from_help.difference(&from_man).collect();
    let extra: Vec<_> = from_man.difference(&from_help).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "doc/tini-rs.1 OPTIONS and `tini-rs -h` disagree.\n\
         in -h, not in the man page: {missing:?}\nin the man page, not in -h: {extra:?}"
    );
}

#[test]
fn every_variable_of_help_is_described_and_no_other() {
    let from_help = variables_in(&help());
    assert!(
        from_help.contains("TINI_SUBREAPER") && from_help.contains("TINI_VERBOSITY"),
        "parsing -h found too little: {from_help:?}"
    );
    let man = man_page();
    let all = sections(&man);
    let described: BTreeSet<String> = tags(section(&all, "ENVIRONMENT"))
        .iter()
        .flat_map(|t| variables_in(t))
        .collect();
    let missing: Vec<_> = from_help.difference(&described).collect();
    assert!(
        missing.is_empty(),
        "variables in `tini-rs -h` without an entry under ENVIRONMENT in doc/tini-rs.1: {missing:?}"
    );
    let named = variables_in(&unroff(&man));
    let extra: Vec<_> = named.difference(&from_help).collect();
    assert!(
        extra.is_empty(),
        "doc/tini-rs.1 names variables that `tini-rs -h` lacks: {extra:?}"
    );
}

#[test]
fn title_line_names_the_crate_version() {
    let man = man_page();
    let th = man
        .lines()
        .find(|l| l.starts_with(".TH "))
        .expect("a .TH line");
    let want = format!("\"tini-rs {}\"", env!("CARGO_PKG_VERSION"));
    assert!(
        th.contains(&want),
        "doc/tini-rs.1's .TH line should name {want}: {th}"
    );
}

#[test]
fn parsers_read_what_they_should() {
    let help = "Options:\n  -h, --help         print this help\n  \
                -t, --grace-period DURATION\n                     wait (-vvv)  TINI_GRACE_PERIOD\n  \
                -e CODE   remap   TINI_REMAP_EXIT=C,C\n";
    let want: BTreeSet<String> = ["-h", "--help", "-t", "--grace-period", "-e"]
        .map(String::from)
        .into();
    assert_eq!(help_options(help), want);
    let vars: BTreeSet<String> = ["TINI_GRACE_PERIOD", "TINI_REMAP_EXIT"]
        .map(String::from)
        .into();
    assert_eq!(variables_in(help), vars);
    assert_eq!(variables_in("TINI_* and TINI_"), BTreeSet::new());
    assert_eq!(
        unroff(r#".BR \-t ", " \-\-grace\-period " \fIDURATION\fR""#),
        r#".BR -t ", " --grace-period " DURATION""#
    );
    assert_eq!(
        options_in(&unroff(r".BI \-p  SIGNAL")),
        vec!["-p".to_string()]
    );
}
