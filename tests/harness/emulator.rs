//! cargo-lambda's Runtime API emulator (`cargo lambda watch --only-lambda-apis`), with the built
//! function binary polling it and events sent by `cargo lambda invoke`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::{free_port, is_listening, stop, test_dir, venv_bin, wait_until};

/// The function name the emulator routes to when the runtime API path is `/.rt`.
const DEFAULT_FUNCTION: &str = "_";

pub struct Emulator {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

pub struct FunctionProcess {
    child: Child,
    log: PathBuf,
}

pub struct InvokeOutcome {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Emulator {
    pub fn start() -> Emulator {
        let port = free_port();
        let dir = test_dir("emulator");
        let log = std::fs::File::create(dir.join("watch.log")).expect("watch log");
        // `watch` reads the project's metadata but, with --only-lambda-apis, builds and starts
        // nothing; its own process group lets Drop stop its children too.
        let child = Command::new(venv_bin("cargo-lambda"))
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "-A",
                "127.0.0.1",
                "-P",
            ])
            .arg(port.to_string())
            .current_dir(super::project_root())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("watch log"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("cannot start cargo-lambda: run `make test`, which installs it");
        let mut emulator = Emulator { port, dir, child };
        if !wait_until(Duration::from_secs(60), || is_listening(port)) {
            stop(&mut emulator.child, true);
            panic!(
                "cargo lambda watch did not listen on {port}: {}",
                std::fs::read_to_string(emulator.dir.join("watch.log")).unwrap_or_default()
            );
        }
        emulator
    }

    /// Starts the function binary against this emulator, with `env` added.
    pub fn start_function(&self, binary: &Path, env: &[(String, String)]) -> FunctionProcess {
        let log = self.dir.join("function.log");
        let file = std::fs::File::create(&log).expect("function log");
        let child = Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{}/.rt", self.port),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "forwarder")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/forwarder")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("function log"))
            .stderr(file)
            .spawn()
            .expect("cannot start the function binary");
        FunctionProcess { child, log }
    }

    /// Sends the event in `data_file` with `cargo lambda invoke` and waits for the answer.
    pub fn invoke(&self, data_file: &Path) -> InvokeOutcome {
        // Outside the project, so invoke does not look for the function among its binaries.
        let Output {
            status,
            stdout,
            stderr,
        } = Command::new("timeout")
            .arg("60")
            .arg(venv_bin("cargo-lambda"))
            .args([
                "lambda",
                "invoke",
                DEFAULT_FUNCTION,
                "-A",
                "127.0.0.1",
                "-P",
            ])
            .arg(self.port.to_string())
            .arg("--data-file")
            .arg(data_file)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run cargo lambda invoke");
        InvokeOutcome {
            success: status.success(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

impl Emulator {
    /// Invokes `function` with `event` (written to a file of its own), which must succeed; returns
    /// the function's JSON response.
    pub fn invoke_event(&self, function: &FunctionProcess, event: &str) -> serde_json::Value {
        let file: PathBuf = test_dir("event").join("event.json");
        std::fs::write(&file, event).expect("write the event");
        let outcome = self.invoke(&file);
        assert!(
            outcome.success,
            "{}\n{}\nfunction log:\n{}",
            outcome.stdout,
            outcome.stderr,
            function.log()
        );
        serde_json::from_str(outcome.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "the response is not JSON ({e}): {}\n{}",
                outcome.stdout, outcome.stderr
            )
        })
    }
}

impl FunctionProcess {
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        stop(&mut self.child, false);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        stop(&mut self.child, true);
    }
}
