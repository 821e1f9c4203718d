//! The command line: raw flags, validated into job configurations before any work starts.

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};

use crate::jobs::batch::BatchArgs;
use crate::jobs::db::DbCommand;
use crate::jobs::demo::DemoArgs;
use crate::jobs::produce::ProduceArgs;
use crate::jobs::serve::ServeArgs;
use crate::jobs::shell::{CompletionsArgs, ManArgs};
use crate::jobs::stream::StreamArgs;
use crate::jobs::topics::TopicsCommand;
use crate::jobs::verify::VerifyArgs;
use crate::jobs::views::ViewsArgs;

/// trendflow: windowed rankings of tweet streams — top hashtags, top tweets, languages — from one
/// differential dataflow graph that serves both the speed layer (Kafka) and the batch layer (MySQL).
#[derive(Parser, Debug)]
#[command(name = "trendflow", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run generated tweets through the graph as a stream and as a batch, and check the two agree.
    ///
    /// Needs no Kafka and no MySQL: the embedded default that shows the whole engine at work.
    Demo(DemoArgs),
    /// Create, load and fill the MySQL database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Run the graph over the full tweet history in MySQL and store its final views (layer batch).
    Batch(BatchArgs),
    /// Print final views from the MySQL view tables.
    Views(ViewsArgs),
    /// Manage trendflow's Kafka topics.
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// Replay tweets into the tweets topic, from MySQL or the generator.
    Produce(ProduceArgs),
    /// Run the speed layer: tweets from Kafka, rankings to Kafka and MySQL as they change.
    Stream(StreamArgs),
    /// Compare the speed layer's final views with the batch layer's; non-zero exit on any difference.
    Verify(VerifyArgs),
    /// Serve the views over HTTP: batch and speed layers merged, live rankings, health, metrics.
    Serve(ServeArgs),
    /// Print a completion script for bash, zsh, fish, elvish or PowerShell.
    ///
    /// Generated from trendflow's own flags. For bash, for instance:
    /// `trendflow completions bash > ~/.local/share/bash-completion/completions/trendflow`.
    Completions(CompletionsArgs),
    /// Print trendflow's man page (roff), or write one page per command into a directory.
    Man(ManArgs),
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(self) -> Result<()> {
        match self.command {
            Command::Demo(args) => crate::jobs::demo::run(args),
            Command::Db(command) => crate::jobs::db::run(command),
            Command::Batch(args) => crate::jobs::batch::run(args),
            Command::Views(args) => crate::jobs::views::run(args),
            Command::Topics(command) => crate::jobs::topics::run(command),
            Command::Produce(args) => crate::jobs::produce::run(args),
            Command::Stream(args) => crate::jobs::stream::run(args),
            Command::Verify(args) => crate::jobs::verify::run(args),
            Command::Serve(args) => crate::jobs::serve::run(args),
            Command::Completions(args) => crate::jobs::shell::completions(args, Cli::command()),
            Command::Man(args) => crate::jobs::shell::man(args, Cli::command()),
        }
    }
}
