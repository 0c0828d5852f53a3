//! Fuzz target: bytes → argv and a `TINI_*` environment → `tini_rs::cli::parse`. It must
//! never panic, and a usage error must be one non-empty line.
//!
//! Layout of an input: NUL-separated fields. Fields up to the first empty field are argv;
//! the fields after it are `KEY=VALUE` pairs whose KEY is taken modulo the list of variables.
#![no_main]

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;
use tini_rs::cli::{self, UsageError};


fuzz_target!(|data: &[u8]| {
    let mut fields = data.split(|b| *b == 0);
    let args: Vec<OsString> = fields
        .by_ref()
        .take_while(|f| !f.is_empty())
        .map(|f| OsString::from_vec(f.to_vec()))
        .collect();
    let mut env: HashMap<&str, OsString> = HashMap::new();
    for f in fields {
        if let Some((&k, v)) = f.split_first() {
            let keys = cli::env_vars();
            let key = keys.get(usize::from(k) % keys.len()).copied().unwrap_or("TINI_PAUSE");
            env.insert(key, OsString::from_vec(v.to_vec()));
        }
    }
    if let Err(UsageError(msg)) = cli::parse(&args, |k| env.get(k).cloned()) {
        assert!(!msg.trim().is_empty(), "empty usage error");
        assert!(!msg.contains('\n'), "usage error on several lines: {msg:?}");
    }
});
