//! `rds-iam completions <SHELL>`: the shell completion script, generated from the command line's definition.

use std::io::Write;

use anyhow::Context as _;
use clap::Args;
use clap_complete::Shell;

const INSTALL: &str = "\
Install (then start a new shell):
  bash        rds-iam completions bash > ~/.local/share/bash-completion/completions/rds-iam
  zsh         rds-iam completions zsh > ~/.zfunc/_rds-iam
              (and in ~/.zshrc: fpath+=~/.zfunc; autoload -U compinit; compinit)
  fish        rds-iam completions fish > ~/.config/fish/completions/rds-iam.fish
  elvish      rds-iam completions elvish >> ~/.config/elvish/rc.elv
  powershell  rds-iam completions powershell >> $PROFILE";

/// `rds-iam completions`.
#[derive(Debug, Args)]
#[command(after_help = INSTALL)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    shell: Shell,
}

pub(crate) fn run(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut crate::cli_command(), "rds-iam", &mut script);
    std::io::stdout()
        .lock()
        .write_all(&script)
        .context("writing the completion script")
}
