//! The shell's LLM commands: `llm-info`, `llm-infer`, `llm-load-lora`, `llm-unload-lora`, on
//! the model the host loaded ([`Shell::set_llm`]). `llm-infer` prints the completion as it grows,
//! one token step at a time, and stops between two steps on Ctrl-C or the shell's time limit.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;

use super::commands::usage;
use super::{Shell, ShellStatus, DEFAULT_RUN_TIME_LIMIT_MS};
use crate::error::{Error, LimitKind, Result};
use crate::llm::session::{Progress, Sampling};
use crate::llm::LlmService;

/// The error of an `llm-*` command when the host loaded no model.
fn no_model() -> Error {
    Error::Llm {
        message: String::from("no model loaded"),
    }
}

fn service(shell: &Shell) -> Result<Arc<LlmService>> {
    shell.llm().cloned().ok_or_else(no_model)
}

pub(super) fn info(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    if !args.is_empty() {
        return Err(usage("llm-info"));
    }
    let service = service(shell)?;
    shell.print(&service.info_text());
    Ok(ShellStatus::Continue)
}

pub(super) fn infer(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let service = service(shell)?;
    let mut max_tokens = service.limits().max_tokens;
    let mut rest = args;
    match rest {
        ["--max-tokens", value, tail @ ..] => {
            max_tokens = value.parse().map_err(|_| Error::Config {
                what: String::from("--max-tokens"),
                message: format!("{value:?} is not a number of tokens"),
            })?;
            rest = tail;
        }
        [option, ..] if option.starts_with("--") => return Err(usage("llm-infer")),
        _ => {}
    }
    if rest.is_empty() {
        return Err(usage("llm-infer"));
    }
    let prompt = rest.join(" ");
    let mut session = service.begin(&prompt, max_tokens, Sampling::default())?;
    let clock = shell.platform().clock.clone();
    let deadline = clock
        .monotonic_ns()
        .saturating_add(DEFAULT_RUN_TIME_LIMIT_MS * 1_000_000);
    shell.print(&prompt);
    let mut text = String::new();
    let stop = loop {
        let halt = if shell.platform().console.take_interrupt() {
            Some(Error::Interrupted {
                func: String::from("llm-infer"),
            })
        } else if clock.monotonic_ns() >= deadline {
            Some(Error::LimitExceeded {
                kind: LimitKind::Time,
                limit: DEFAULT_RUN_TIME_LIMIT_MS,
                detail: format!(
                    "llm-infer ran for more than {DEFAULT_RUN_TIME_LIMIT_MS} ms of wall time"
                ),
            })
        } else {
            None
        };
        if let Some(error) = halt {
            shell.print("\n");
            return Err(error);
        }
        let progress = session.step().map_err(|e| Error::Llm {
            message: format!("inference failed: {e}"),
        })?;
        session.take_text(&mut text);
        if !text.is_empty() {
            shell.print(&text);
            text.clear();
        }
        match progress {
            Progress::Stepped => {}
            Progress::Finished(stop) => break stop,
            // Nothing else runs while the shell waits: the session holding the model is an agent
            // paused mid-inference.
            Progress::Queued => {
                shell.print("\n");
                return Err(Error::Llm {
                    message: String::from(
                        "the model is busy with an agent's inference (agent-run finishes it, agent-kill drops it)",
                    ),
                });
            }
        }
    };
    shell.print(&format!(
        "\n[{} prompt tokens, {} generated, {stop}]\n",
        session.prompt_tokens(),
        session.generated()
    ));
    Ok(ShellStatus::Continue)
}
