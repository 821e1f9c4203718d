//! `trendflow completions` and `trendflow man`: what they print covers every command clap parses.
//! The commands expected are read from clap's own command ([`Cli::command`]), never listed here,
//! so a command added later is checked with no change to these tests. No service is needed.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use clap::CommandFactory;
use trendflow::cli::Cli;

use crate::common::{run_bounded, scratch_path, trendflow};

/// The names of `command`'s visible subcommands, in the order `--help` lists them.
fn subcommands(command: &clap::Command) -> Vec<String> {
    command.get_subcommands().filter(|sub| !sub.is_hide_set()).map(|sub| sub.get_name().to_string()).collect()
}

/// What bash completes after `words` and a space, with `script` loaded as bash loads a
/// completion file: the function `complete` registered for trendflow, called as bash calls it.
fn bash_completes(script: &Path, words: &[&str]) -> BTreeSet<String> {
    let mut bash = Command::new("bash");
    bash.args([
        "-c",
        r#"source "$1" || exit 2
           shift
           COMP_WORDS=("$@" "")
           COMP_CWORD=$#
           function=$(complete -p trendflow | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
           "$function" trendflow "" "${COMP_WORDS[COMP_CWORD-1]}"
           printf '%s\n' "${COMPREPLY[@]}""#,
        "bash",
    ]);
    bash.arg(script).args(words);
    let ended = run_bounded(bash);
    assert!(ended.stderr.is_empty(), "bash completing {words:?} complained:\n{}", ended.stderr);
    ended.succeeded().lines().map(str::to_string).collect()
}

#[test]
fn bash_completions_name_every_subcommand_of_help() {
    let script_path = scratch_path("completions.bash");
    std::fs::write(&script_path, run_bounded(trendflow(&["completions", "bash"])).succeeded())
        .expect("writing the completion script");
    // Built, as `--help` shows it: with clap's `help` subcommand.
    let mut command = Cli::command();
    command.build();
    let mut checked = 0;
    // Every command that has subcommands, at any depth, by the words that lead to it.
    let mut pending = vec![(Vec::<String>::new(), &command)];
    while let Some((path, command)) = pending.pop() {
        let expected = subcommands(command);
        if expected.is_empty() {
            continue;
        }
        let words: Vec<&str> = std::iter::once("trendflow").chain(path.iter().map(String::as_str)).collect();
        let completed = bash_completes(&script_path, &words);
        for name in &expected {
            assert!(completed.contains(name), "`{}` is not completed after {words:?}: {completed:?}", name);
        }
        checked += expected.len();
        for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
            pending.push(([path.clone(), vec![sub.get_name().to_string()]].concat(), sub));
        }
    }
    std::fs::remove_file(&script_path).expect("removing the completion script");
    // The top level alone has more than ten: the walk did not stop short.
    assert!(checked > subcommands(&command).len(), "only {checked} subcommands checked");
}

#[test]
fn every_shell_gets_a_completion_script_naming_the_commands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let ended = run_bounded(trendflow(&["completions", shell]));
        let script = ended.succeeded();
        for name in subcommands(&Cli::command()) {
            assert!(script.contains(&name), "the {shell} script does not name `{name}`");
        }
    }
    let ended = run_bounded(trendflow(&["completions", "tcsh"]));
    assert!(!ended.status.success(), "an unknown shell was taken");
    assert!(ended.stderr.contains("possible values: bash"), "{}", ended.stderr);
}

/// `name` as roff writes it: a hyphen is `\-`.
fn roff(name: &str) -> String {
    name.replace('-', "\\-")
}

/// Checks `page` is a roff man page titled and NAMEd `name`.
fn assert_man_page_of(page: &str, name: &str) {
    assert!(page.lines().any(|line| line.starts_with(&format!(".TH {name} 1 "))), "{name}: no title\n{page}");
    let mut lines = page.lines().skip_while(|line| *line != ".SH NAME");
    assert_eq!(lines.next(), Some(".SH NAME"), "{name}: no NAME section\n{page}");
    let named = lines.next().unwrap_or_default();
    assert!(named.starts_with(&format!("{} \\- ", roff(name))), "{name}: NAME says {named:?}");
}

/// Renders the page at `path` with man-db's `man -l`, if it is installed; fails the test if it
/// cannot render it.
fn render_if_man_is_installed(path: &Path) {
    if Command::new("man").arg("--version").output().is_err() {
        return;
    }
    let mut man = Command::new("man");
    man.arg("-l").arg(path).env("MANPAGER", "cat").env("PAGER", "cat").env("MANWIDTH", "80");
    let ended = run_bounded(man);
    assert!(ended.succeeded().contains("NAME"), "man -l {}:\n{}", path.display(), ended.stdout);
}

#[test]
fn man_prints_a_roff_page_naming_trendflow_and_every_subcommand() {
    let page = run_bounded(trendflow(&["man"])).succeeded().to_string();
    assert_man_page_of(&page, "trendflow");
    let listed: Vec<&str> = page
        .lines()
        .skip_while(|line| *line != ".SH SUBCOMMANDS")
        .skip(1)
        .take_while(|line| !line.starts_with(".SH"))
        .collect();
    for name in subcommands(&Cli::command()) {
        let entry = format!("trendflow\\-{}(1)", roff(&name));
        assert!(listed.contains(&entry.as_str()), "`{name}` is not among the SUBCOMMANDS:\n{}", listed.join("\n"));
    }
    let path = scratch_path("trendflow.1");
    std::fs::write(&path, &page).expect("writing the page");
    render_if_man_is_installed(&path);
    std::fs::remove_file(&path).expect("removing the page");
}

/// The page names of `command` and its visible subcommands at any depth: `trendflow`,
/// `trendflow-db`, `trendflow-db-init`, ...
fn page_names(prefix: &str, command: &clap::Command, names: &mut BTreeSet<String>) {
    names.insert(prefix.to_string());
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        page_names(&format!("{prefix}-{}", sub.get_name()), sub, names);
    }
}

#[test]
fn man_dir_writes_a_page_for_every_command_and_subcommand() {
    let dir = scratch_path("man").join("man1");
    let ended = run_bounded(trendflow(&["man", "--dir", &dir.display().to_string()]));
    let listed: BTreeSet<String> = ended.succeeded().lines().map(str::to_string).collect();
    // Not built: clap's `help` subcommand, which is no command of its own, gets no page.
    let mut expected = BTreeSet::new();
    page_names("trendflow", &Cli::command(), &mut expected);
    assert!(expected.contains("trendflow-db-init"), "{expected:?}");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("reading the man page directory")
        .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    let expected_files: BTreeSet<String> = expected.iter().map(|name| format!("{name}.1")).collect();
    assert_eq!(files, expected_files);
    let expected_listing: BTreeSet<String> =
        expected_files.iter().map(|file| dir.join(file).display().to_string()).collect();
    assert_eq!(listed, expected_listing, "the paths printed");
    for name in &expected {
        let path = dir.join(format!("{name}.1"));
        assert_man_page_of(&std::fs::read_to_string(&path).expect("reading a page"), name);
        render_if_man_is_installed(&path);
    }
    std::fs::remove_dir_all(dir.parent().expect("the scratch directory")).expect("removing the pages");
}

#[test]
fn man_dir_that_cannot_be_written_fails_naming_it() {
    let file = scratch_path("not-a-directory");
    std::fs::write(&file, "").expect("writing a file");
    for dir in [file.join("man1"), file.clone()] {
        let dir = dir.display().to_string();
        let ended = run_bounded(trendflow(&["man", "--dir", &dir]));
        assert!(!ended.status.success(), "writing pages into {dir} succeeded");
        let said = ended.stderr.trim_end();
        assert!(said.starts_with("trendflow: ") && said.contains(&dir), "{dir}: {said}");
        assert_eq!(said.lines().count(), 1, "{said}");
        assert!(ended.stdout.is_empty(), "{dir}: listed pages not written: {}", ended.stdout);
    }
    std::fs::remove_file(&file).expect("removing the file");
}
