//! `trendflow completions` and `trendflow man`: shell completion scripts and man pages.
//!
//! Both are generated, at run time, from the clap command that parses trendflow's own flags
//! (`cli` hands it over), so a new command or flag shows in them with no second list to keep: a
//! completion script or page written by hand would drift from the flags it describes. They are
//! printed by the binary rather than built into files by `build.rs` so that any installed
//! trendflow can write those of its own version.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use clap_complete::Shell;
use clap_mangen::Man;

/// Flags of `trendflow completions`.
#[derive(Args, Debug, Clone)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Flags of `trendflow man`.
#[derive(Args, Debug, Clone)]
pub struct ManArgs {
    /// Instead of printing trendflow's page, write one page per command and subcommand
    /// (trendflow.1, trendflow-db.1, trendflow-db-init.1, ...) into DIR, created if missing, and
    /// print their paths.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Prints the completion script of `shell` for `command`.
pub fn completions(args: CompletionsArgs, mut command: clap::Command) -> Result<()> {
    let name = command.get_name().to_string();
    // clap_complete panics if its writer fails; a buffer cannot, and the one write that can
    // (standard output) is then ours to report.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    print(&script).context("writing the completion script to standard output")
}

/// Prints the man page of `command`, or writes the page of every command under it into
/// `args.dir`.
pub fn man(args: ManArgs, command: clap::Command) -> Result<()> {
    let command = pages_of(command);
    match args.dir {
        None => {
            let mut page = Vec::new();
            Man::new(command).render(&mut page).context("rendering the man page")?;
            print(&page).context("writing the man page to standard output")
        }
        Some(dir) => {
            let written = write_pages(&command, &dir)?;
            let listing: String = written.iter().map(|path| format!("{}\n", path.display())).collect();
            print(listing.as_bytes()).context("listing the man pages written")
        }
    }
}

/// `command` as its man pages describe it: built, so that each subcommand knows its full name
/// (`trendflow-db-init`), and without clap's `help` subcommand, which is no command of its own
/// to read a page about (`trendflow help db` is `trendflow db --help`).
fn pages_of(command: clap::Command) -> clap::Command {
    let mut command = command.disable_help_subcommand(true);
    command.build();
    command
}

/// Writes the page of `command` and of each of its visible subcommands, at any depth, into
/// `dir`; returns the paths written, in the order `--help` lists the commands.
fn write_pages(command: &clap::Command, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating the man page directory {}", dir.display()))?;
    let mut written = Vec::new();
    write_page_tree(command, dir, &mut written)?;
    Ok(written)
}

/// Writes the page of `command`, then those of its subcommands, noting each path in `written`.
fn write_page_tree(command: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    let page = Man::new(command.clone());
    let path = dir.join(page.get_filename());
    page.generate_to(dir).with_context(|| format!("writing the man page {}", path.display()))?;
    written.push(path);
    for subcommand in command.get_subcommands().filter(|subcommand| !subcommand.is_hide_set()) {
        write_page_tree(subcommand, dir, written)?;
    }
    Ok(())
}

/// Writes `bytes` to standard output. A reader that stops early (`| head`) ends the output
/// quietly, as `views` does.
fn print(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result,
    }
}
