#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use super::*;

/// A directory tree `root/.cargo/config.toml`, `root/ws/.cargo/config.toml`, cwd `root/ws/app`.
struct Tree {
    root: PathBuf,
}

impl Tree {
    fn new(name: &str, outer: &str, inner: &str) -> Tree {
        let root = std::env::temp_dir().join(format!(
            "trunk-cargo-config-test-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        for (dir, text) in [(root.clone(), outer), (root.join("ws"), inner)] {
            std::fs::create_dir_all(dir.join(".cargo")).unwrap();
            if !text.is_empty() {
                std::fs::write(dir.join(".cargo/config.toml"), text).unwrap();
            }
        }
        std::fs::create_dir_all(root.join("ws/app")).unwrap();
        Tree { root }
    }

    fn cwd(&self) -> PathBuf {
        self.root.join("ws/app")
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
    let map: HashMap<String, OsString> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
        .collect();
    move |k| map.get(k).cloned()
}

fn set(words: &[&str]) -> Setting {
    Setting::Set(words.iter().map(|w| (*w).to_owned()).collect())
}

#[test]
fn the_nearest_file_wins_and_relative_programs_are_relative_to_it() {
    let tree = Tree::new(
        "nearest",
        "[build]\nrustc-wrapper = \"outer\"\nrustdoc = \"tools/rustdoc\"\n",
        "[build]\nrustc-wrapper = \"tools/wrap.sh\"\n[target.x86_64-unknown-linux-gnu]\nrunner = \"qemu -L /x\"\n",
    );
    let env = env_of(&[("CARGO_HOME", "/nonexistent")]);
    let s = Sources::load(&tree.cwd(), &[], &env);
    let inner_tools = tree.root.join("ws/tools/wrap.sh");
    assert_eq!(s.rustc_wrapper(), set(&[inner_tools.to_str().unwrap()]));
    let outer_tools = tree.root.join("tools/rustdoc");
    assert_eq!(s.rustdoc(), set(&[outer_tools.to_str().unwrap()]));
    assert_eq!(
        s.runner("x86_64-unknown-linux-gnu"),
        set(&["qemu", "-L", "/x"])
    );
    assert_eq!(s.runner("aarch64-unknown-linux-gnu"), Setting::Unset);
    assert_eq!(s.targets(), Ok(vec![]));
}

#[test]
fn the_environment_beats_files_and_the_command_line_beats_both() {
    let tree = Tree::new(
        "order",
        "",
        "build.rustc-wrapper = \"from-file\"\nbuild.target = \"wasm32-unknown-unknown\"\ntarget.wasm32-unknown-unknown.runner = [\"wasm-runner\", \"--x\"]\n",
    );
    let env = env_of(&[
        ("CARGO_HOME", "/nonexistent"),
        ("CARGO_BUILD_RUSTC_WRAPPER", "from-env"),
        (
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "env-runner a b",
        ),
    ]);
    let s = Sources::load(&tree.cwd(), &[], &env);
    assert_eq!(s.rustc_wrapper(), set(&["from-env"]));
    assert_eq!(
        s.runner("wasm32-unknown-unknown"),
        set(&["env-runner", "a", "b"])
    );
    assert_eq!(s.targets(), Ok(vec!["wasm32-unknown-unknown".into()]));

    let cli = [
        "build.rustc-wrapper = \"from-cli\"".to_owned(),
        "target.wasm32-unknown-unknown.runner = \"cli-runner\"".to_owned(),
    ];
    let s = Sources::load(&tree.cwd(), &cli, &env);
    assert_eq!(s.rustc_wrapper(), set(&["from-cli"]));
    assert_eq!(s.runner("wasm32-unknown-unknown"), set(&["cli-runner"]));

    // RUSTC_WRAPPER beats everything; empty turns the wrapper off.
    let env = env_of(&[("CARGO_HOME", "/nonexistent"), ("RUSTC_WRAPPER", "")]);
    assert_eq!(
        Sources::load(&tree.cwd(), &cli, &env).rustc_wrapper(),
        Setting::Unset
    );
}

#[test]
fn what_cannot_be_read_for_sure_is_unknown() {
    let tree = Tree::new(
        "unknown",
        "[target.'cfg(unix)']\nrunner = \"valgrind\"\n",
        "[build]\nrustc-wrapper = sccache\nrustdoc = \"unclosed\n",
    );
    let env = env_of(&[("CARGO_HOME", "/nonexistent")]);
    let s = Sources::load(&tree.cwd(), &[], &env);
    assert!(matches!(s.rustc_wrapper(), Setting::Unknown(why) if why.contains("cannot be read")));
    assert!(
        matches!(s.runner("x86_64-unknown-linux-gnu"), Setting::Unknown(why) if why.contains("cfg"))
    );
    // A runner for the triple itself wins over cfg ones, as in cargo.
    let env = env_of(&[
        ("CARGO_HOME", "/nonexistent"),
        ("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER", "mine"),
    ]);
    let s = Sources::load(&tree.cwd(), &[], &env);
    assert_eq!(s.runner("x86_64-unknown-linux-gnu"), set(&["mine"]));
    // A file it cannot read is unknown for the keys it mentions, out of the way for others.
    assert!(matches!(s.rustdoc(), Setting::Unknown(why) if why.contains("cannot be read")));
    assert!(matches!(
        s.runner("x86_64-unknown-linux-gnu"),
        Setting::Set(_)
    ));
}

#[test]
fn cargo_home_is_read_last() {
    let tree = Tree::new("home", "", "");
    let home = tree.root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        "[build]\nrustc-wrapper = \"bin/cache\"\n",
    )
    .unwrap();
    let home_str = home.to_str().unwrap().to_owned();
    let env = env_of(&[("CARGO_HOME", &home_str)]);
    let s = Sources::load(&tree.cwd(), &[], &env);
    let expected = tree.root.join("bin/cache");
    assert_eq!(s.rustc_wrapper(), set(&[expected.to_str().unwrap()]));
}

#[test]
fn runner_variables_are_named_as_cargo_names_them() {
    assert_eq!(
        runner_var("x86_64-unknown-linux-gnu"),
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER"
    );
    assert_eq!(
        runner_var("thumbv7em-none-eabihf.json"),
        "CARGO_TARGET_THUMBV7EM_NONE_EABIHF_JSON_RUNNER"
    );
}
