//! Build script: records the git commit for `--version`, which Docker shows in `docker info`
//! as the init's version (it reads the part after ` - git.`). Outside a git checkout the
//! version line simply has no commit.

use std::path::Path;
use std::process::Command;

fn main() {
    let git = Path::new(".git");
    if git.join("HEAD").exists() {
        println!("cargo:rerun-if-changed=.git/HEAD");
        if let Ok(head) = std::fs::read_to_string(git.join("HEAD")) {
            if let Some(r) = head.strip_prefix("ref: ") {
                println!("cargo:rerun-if-changed=.git/{}", r.trim());
            }
        }
        println!("cargo:rerun-if-changed=.git/packed-refs");
    }
    let hash = Command::new("git")
        .args(["rev-parse", "--short=7", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()));
    if let Some(h) = hash {
        println!("cargo:rustc-env=TINI_RS_GIT_HASH={h}");
    }
}
