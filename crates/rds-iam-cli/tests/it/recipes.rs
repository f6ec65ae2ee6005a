//! docs/recipes.md and docs/recipes.ja.md cannot rot: every `rds-iam proxy` flag in their Kubernetes, systemd and
//! shell blocks exists in `rds-iam proxy --help`, every probe path is one the proxy serves, and both languages show
//! the same commands.

use std::collections::BTreeSet;
use std::path::Path;

/// The paths the proxy's health endpoints serve (crates/rds-iam-proxy/src/health.rs).
const SERVED: [&str; 5] = ["/startup", "/liveness", "/readiness", "/metrics", "/quitquitquit"];

/// The fenced code blocks of a Markdown text.
fn code_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some(String::new()),
            }
        } else if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    blocks
}

/// The flags given to `rds-iam proxy` in a block: YAML `args:` after `- proxy`, an `ExecStart=` line, or a shell
/// command (with `\` continuations) that starts with `rds-iam proxy`.
fn proxy_flags(block: &str) -> BTreeSet<String> {
    let joined = block.replace("\\\n", " ");
    let mut flags = BTreeSet::new();
    let mut in_args = false;
    for line in joined.lines() {
        let trimmed = line.trim();
        if trimmed == "- proxy" {
            in_args = true;
            continue;
        }
        if in_args {
            match trimmed.strip_prefix("- --") {
                Some(arg) => {
                    flags.insert(format!("--{}", arg.split('=').next().unwrap_or(arg)));
                    continue;
                }
                None => in_args = false,
            }
        }
        let command = trimmed.strip_prefix("ExecStart=").unwrap_or(trimmed);
        if let Some(at) = command.find("rds-iam proxy") {
            flags.extend(
                command[at..]
                    .split_whitespace()
                    .filter(|token| token.starts_with("--"))
                    .map(|token| token.split('=').next().unwrap_or(token).to_owned()),
            );
        }
    }
    flags
}

/// Paths of the health endpoints a block names: `path: /x` and `http://…:9090/x`.
fn probe_paths(block: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for (at, _) in block.match_indices("path: /") {
        let path = block[at + "path: ".len()..]
            .split([',', '}', ' ', '\n'])
            .next()
            .unwrap_or_default();
        paths.insert(path.to_owned());
    }
    for (at, _) in block.match_indices(":9090/") {
        let path = block[at + ":9090".len()..]
            .split([' ', '\n', '`'])
            .next()
            .unwrap_or_default();
        paths.insert(path.to_owned());
    }
    paths
}

#[test]
fn the_recipes_use_only_flags_and_paths_that_exist() {
    let help = crate::stdout(&crate::rds_iam(Path::new("/nonexistent"), &["proxy", "--help"], &[]));
    assert!(help.contains("--http-listen"), "{help}");
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let mut seen_by_language = Vec::new();
    for name in ["recipes.md", "recipes.ja.md"] {
        let text = std::fs::read_to_string(docs.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let blocks = code_blocks(&text);
        let flags: BTreeSet<String> = blocks.iter().flat_map(|b| proxy_flags(b)).collect();
        let paths: BTreeSet<String> = blocks.iter().flat_map(|b| probe_paths(b)).collect();
        assert!(
            flags.len() >= 12,
            "{name}: the recipes' flags were not found: {flags:?}"
        );
        for flag in &flags {
            let listed = [" ", " <", "\n", ","]
                .iter()
                .any(|after| help.contains(&format!("{flag}{after}")));
            assert!(listed, "{name}: {flag} is not a flag of `rds-iam proxy`:\n{help}");
        }
        assert!(
            paths.contains("/startup") && paths.contains("/readiness"),
            "{name}: {paths:?}"
        );
        for path in &paths {
            assert!(
                SERVED.contains(&path.as_str()),
                "{name}: the proxy does not serve {path}"
            );
        }
        seen_by_language.push((flags, paths));
    }
    assert_eq!(
        seen_by_language[0], seen_by_language[1],
        "English and Japanese show the same commands"
    );
}

#[test]
fn flags_are_found_in_every_kind_of_block() {
    let yaml = "args:\n  - proxy\n  - --hostname=h\n  - --prometheus\nports:\n";
    let unit = "ExecStart=/usr/bin/rds-iam proxy --listen 127.0.0.1:3306 --quiet\n";
    let shell = "rds-iam proxy --hostname h \\\n    --user app\nmariadb --skip-ssl\n";
    let flags = |block| proxy_flags(block).into_iter().collect::<Vec<_>>();
    assert_eq!(flags(yaml), ["--hostname", "--prometheus"]);
    assert_eq!(flags(unit), ["--listen", "--quiet"]);
    assert_eq!(flags(shell), ["--hostname", "--user"], "not the mariadb client's");
    assert_eq!(
        probe_paths("httpGet: {path: /startup, port: health}\ncurl http://127.0.0.1:9090/readiness\n")
            .into_iter()
            .collect::<Vec<_>>(),
        ["/readiness", "/startup"]
    );
}
