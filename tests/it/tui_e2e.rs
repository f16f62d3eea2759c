//! The interactive view end to end: the real binary in a tmux session of 160×48, driven by
//! keys sent with `tmux send-keys` and read back with `tmux capture-pane`, under a wrapper
//! shell that prints the exit status, whether the terminal is back in cooked mode, and `DONE`.
//! Saved captures, stdin behind a slow pipe, Ctrl-C and SIGTERM; live capture on lo while
//! tcpreplay replays a capture (feature `live`, root). Needs tmux.

use crate::common;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a screen may take to show what is expected.
const PATIENCE: Duration = Duration::from_secs(20);

/// A tmux session running one wrapped command; killed when dropped.
struct Tmux {
    name: String,
    dir: std::path::PathBuf,
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("run tmux");
    assert!(
        out.status.success(),
        "tmux {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Tmux {
    /// Runs the shell command `command` (the binary is `$BIN`) in a new detached session,
    /// wrapped so that its exit status and the terminal mode are printed after it.
    fn start(tag: &str, command: &str) -> Tmux {
        let name = format!("cwmpscope-e2e-{}-{tag}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let script = dir.join("run.sh");
        std::fs::write(
            &script,
            format!(
                "cd '{root}'\nexport BIN='{bin}'\nexport PIDFILE='{pidfile}'\n{command}\necho EXIT=$?\n\
                 stty -a | grep -q -- -icanon && echo TTY=raw || echo TTY=cooked\necho DONE\nexec sleep 120\n",
                root = env!("CARGO_MANIFEST_DIR"),
                bin = env!("CARGO_BIN_EXE_cwmpscope"),
                pidfile = dir.join("pid").display(),
            ),
        )
        .expect("script");
        // Killed first in case a previous run with the same pid left it behind.
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &name])
            .output();
        tmux(&[
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "160",
            "-y",
            "48",
            "-e",
            "TERM=tmux-256color",
            &format!("sh '{}'", script.display()),
        ]);
        Tmux { name, dir }
    }

    fn screen(&self) -> String {
        tmux(&["capture-pane", "-p", "-t", &self.name])
    }

    /// Polls the screen until `ok` holds (at most [`PATIENCE`]); returns that screen.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "waited {PATIENCE:?} for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_text(&self, text: &str) -> String {
        self.wait_for(text, |s| s.contains(text))
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend_from_slice(keys);
        tmux(&args);
    }

    /// After the program ended: its exit status line and the terminal's state.
    fn ended(&self) -> (String, String) {
        let screen = self.wait_for("the wrapper's DONE", |s| {
            s.lines().any(|l| l.trim() == "DONE")
        });
        let line = |prefix: &str| {
            screen
                .lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no {prefix} line:\n{screen}"))
                .trim()
                .to_owned()
        };
        let modes = tmux(&[
            "display",
            "-p",
            "-t",
            &self.name,
            "#{alternate_on} #{cursor_flag}",
        ]);
        (
            format!("{} {}", line("EXIT="), line("TTY=")),
            modes.trim().to_owned(),
        )
    }

    /// Asserts a clean end: exit status 0, cooked tty, main screen, cursor shown.
    fn assert_restored(&self) {
        let (status, modes) = self.ended();
        assert_eq!(status, "EXIT=0 TTY=cooked", "{}", self.screen());
        assert_eq!(modes, "0 1", "alternate screen off, cursor shown");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The header's first line.
fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or("")
}

#[test]
#[cfg_attr(not(have_tmux), ignore = "needs tmux (apt-get install tmux)")]
fn a_saved_capture_browsed_with_keys_then_q_restores_the_terminal() {
    let t = Tmux::start(
        "file",
        "\"$BIN\" tui captures/third-party/cwmp_sim_fleet5.pcap",
    );
    let list = t.wait_for("done", |s| header(s).contains(" · done"));
    assert!(header(&list).contains("cwmp_sim_fleet5.pcap"), "{list}");
    assert!(list.contains("402 packets"), "{list}");
    // The last row is a transaction. At 160 columns the ladder shows the selected arrow's
    // message beside it, so the screens are told apart by their first line.
    let first = |s: &str| s.lines().next().unwrap_or("").to_owned();
    t.keys(&["End"]);
    t.keys(&["Enter"]);
    let ladder = t.wait_for("the ladder", |s| {
        first(s).starts_with(" t") && s.contains("POST Inform 2 PERIODIC")
    });
    assert!(ladder.contains("configuration-update · CPE"), "{ladder}");
    assert!(ladder.contains("200 InformResponse"), "{ladder}");
    assert!(
        ladder.contains("│ message · POST /acs"),
        "the preview: {ladder}"
    );
    t.keys(&["Down", "Down", "Down"]);
    t.keys(&["Enter"]);
    let message = t.wait_for("the message", |s| first(s).starts_with(" message · 200"));
    assert!(message.contains("<cwmp:InformResponse>"), "{message}");
    t.keys(&["r"]);
    let raw = t.wait_text("message · 200 OK · raw");
    assert!(raw.contains("HTTP/1.1 200"), "{raw}");
    t.keys(&["Escape"]);
    t.wait_for("the ladder", |s| {
        first(s).starts_with(" t") && s.contains("POST Inform 2 PERIODIC")
    });
    t.keys(&["Escape"]);
    t.wait_for("the list", |s| {
        s.contains("CommandKey") && s.contains("21/21")
    });
    t.keys(&["q"]);
    t.assert_restored();
}

#[test]
#[cfg_attr(not(have_tmux), ignore = "needs tmux (apt-get install tmux)")]
fn stdin_behind_a_slow_pipe_fills_the_list_before_the_pipe_ends() {
    let file = "captures/third-party/cwmp_sim_fleet5.pcap";
    let size = std::fs::metadata(common::capture("third-party/cwmp_sim_fleet5.pcap"))
        .expect("capture")
        .len();
    let first = size * 3 / 4;
    // The rest comes once the marker file exists (the test creates it after seeing rows).
    let t = Tmux::start(
        "stdin",
        &format!(
            "(head -c {first} {file}; while [ ! -e \"$PIDFILE.go\" ]; do sleep 0.05; done; \
             tail -c +{} {file}) | \"$BIN\" tui -r -",
            first + 1
        ),
    );
    let early = t.wait_for("rows while the pipe is open", |s| {
        s.contains("session 1 BOOT") && header(s).contains("stdin")
    });
    assert!(!header(&early).contains("done"), "{early}");
    assert!(header(&early).contains("packets"), "{early}");
    std::fs::write(t.dir.join("pid.go"), b"").expect("marker");
    let done = t.wait_for("done", |s| header(s).contains(" · done"));
    assert!(done.contains("402 packets"), "{done}");
    assert!(done.contains("transactions 5: 5 success"), "{done}");
    t.keys(&["q"]);
    t.assert_restored();
}

#[test]
#[cfg_attr(not(have_tmux), ignore = "needs tmux (apt-get install tmux)")]
fn ctrl_c_quits_and_restores_the_terminal() {
    let t = Tmux::start(
        "ctrlc",
        "\"$BIN\" tui captures/reference-config-update.pcap",
    );
    t.wait_for("done", |s| header(s).contains(" · done"));
    t.keys(&["C-c"]);
    t.assert_restored();
}

#[test]
#[cfg_attr(not(have_tmux), ignore = "needs tmux (apt-get install tmux)")]
fn sigterm_restores_the_terminal() {
    // stdin stays open (until the marker file exists): the view is still reading when the
    // signal comes.
    let t = Tmux::start(
        "sigterm",
        "(cat captures/reference-config-update.pcap; \
         while [ ! -e \"$PIDFILE.go\" ]; do sleep 0.05; done) | \
         sh -c 'echo $$ > \"$PIDFILE\"; exec \"$BIN\" tui -r -'",
    );
    t.wait_for("rows", |s| {
        header(s).contains("stdin") && s.contains("cfg-1.1.1")
    });
    let pid = std::fs::read_to_string(t.dir.join("pid")).expect("pid file");
    let killed = Command::new("kill")
        .args(["-TERM", pid.trim()])
        .status()
        .expect("kill");
    assert!(killed.success());
    std::fs::write(t.dir.join("pid.go"), b"").expect("marker");
    t.assert_restored();
}

#[test]
#[cfg_attr(not(have_tmux), ignore = "needs tmux (apt-get install tmux)")]
fn the_view_ends_when_its_terminal_goes_away() {
    // As when the window closes or ssh drops: the terminal hangs up, reads return end-of-file.
    let t = Tmux::start(
        "hangup",
        "sh -c 'echo $$ > \"$PIDFILE\"; exec \"$BIN\" tui captures/reference-config-update.pcap'",
    );
    t.wait_for("done", |s| header(s).contains("done"));
    let pid = std::fs::read_to_string(t.dir.join("pid")).expect("pid file");
    let pid = pid.trim().to_owned();
    tmux(&["kill-session", "-t", &t.name]);
    let gone = |pid: &str| !std::path::Path::new(&format!("/proc/{pid}")).exists();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !gone(&pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        gone(&pid),
        "the view still runs 5 s after its terminal went away"
    );
}

/// Live capture on lo (feature `live`, root, tcpreplay): in a module path with `live` so that
/// CI's live step (`--test it live::`) runs it.
#[cfg(feature = "live")]
mod live {
    use super::*;

    #[test]
    #[cfg_attr(
        not(all(have_tmux, have_tcpreplay, is_root)),
        ignore = "needs tmux, root and tcpreplay (apt-get install tmux tcpreplay)"
    )]
    fn tui_on_lo_shows_a_replayed_transaction() {
        if !crate::live::can_run() {
            return;
        }
        let _lo = crate::live::lo_to_myself();
        let t = Tmux::start(
            "live",
            "\"$BIN\" tui -i lo -f 'host 127.0.0.2 or host 127.0.0.3 or host 127.0.0.5'",
        );
        let started = t.wait_for("the capture", |s| {
            header(s).contains("lo [host 127.0.0.2") && header(s).contains("dropped 0 queue")
        });
        assert!(!header(&started).contains("done"), "{started}");
        let replay = Command::new("tcpreplay")
            .args([
                "-q",
                "-i",
                "lo",
                "-x",
                "1",
                &common::capture("reference-config-update.pcap"),
            ])
            .output()
            .expect("run tcpreplay");
        let replayed = Instant::now();
        assert!(
            replay.status.success(),
            "tcpreplay: {}",
            String::from_utf8_lossy(&replay.stderr)
        );
        // No traffic follows the replay: the capture hands over its last packets by itself.
        let seen = t.wait_for("the replayed transaction", |s| {
            s.contains("cfg-1.1.1") && s.contains("success")
        });
        let late = replayed.elapsed();
        eprintln!("the replayed transaction was on screen {late:?} after the end of the replay");
        assert!(
            late < Duration::from_secs(2),
            "the replayed transaction was on screen only {late:?} after the end of the replay"
        );
        assert!(header(&seen).contains("packets"), "{seen}");
        t.keys(&["q"]);
        t.assert_restored();
    }
}
