//! The shell's LLM commands: `llm-info`, `llm-infer`, `llm-load-lora`, `llm-unload-lora`, on
//! the model the host loaded ([`Shell::set_llm`]). Adapter paths are paths of the system file
//! system (the shell's view): a PEFT adapter directory, or a ustar archive of its two files. `llm-infer` prints the completion as it grows,
//! one token step at a time, and stops between two steps on Ctrl-C or the shell's time limit.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;

use super::commands::{fs_error, usage};
use super::{Shell, ShellStatus, DEFAULT_RUN_TIME_LIMIT_MS};
use crate::error::{Error, LimitKind, Result};
use crate::llm::session::{Progress, Sampling};
use crate::llm::LlmService;
use crate::vfs;

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
        "\n[{} prompt tokens, {} generated, {}]\n",
        session.prompt_tokens(),
        session.generated(),
        stop.as_str()
    ));
    Ok(ShellStatus::Continue)
}

pub(super) fn load_lora(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let [path] = args else {
        return Err(usage("llm-load-lora"));
    };
    let service = service(shell)?;
    let abs = shell.absolute(path);
    let fs = shell.platform().vfs.clone();
    let root = fs.root();
    let node = vfs::path::resolve(&*fs, root, root, &abs, vfs::path::Absolute::FromRoot, true)
        .map_err(|e| fs_error(shell, path, e))?;
    let name = abs.trim_end_matches('/').rsplit('/').next().unwrap_or(path);
    let id = service
        .load_adapter_from(&*fs, node, name)
        .map_err(|e| Error::Llm {
            message: format!("{path}: {e}"),
        })?;
    shell.print(&format!("loaded adapter {id} ({name})\n"));
    Ok(ShellStatus::Continue)
}

pub(super) fn unload_lora(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let [id] = args else {
        return Err(usage("llm-unload-lora"));
    };
    let id: u32 = id.parse().map_err(|_| Error::Config {
        what: String::from("adapter id"),
        message: format!("{id:?} is not a number"),
    })?;
    let service = service(shell)?;
    service.unload_adapter(id)?;
    shell.print(&format!("unloaded adapter {id}\n"));
    Ok(ShellStatus::Continue)
}
