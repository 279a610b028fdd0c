//! Throwaway PostgreSQL clusters for tests: `initdb` and `pg_ctl` from the operating system's
//! packages (Debian `postgresql`), in a temporary directory, as an unprivileged user (`postgres`
//! when the tests run as root), listening on a loopback port and a socket in that directory.
//! Never a system cluster. Stopped (immediate mode) and removed on drop.
//!
//! Without the server binaries, [`Cluster::start_or_skip`] prints one visible line naming the
//! package and the test returns; with `CI=true` it fails instead (CI never skips).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running throwaway cluster.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    run_as: Option<String>,
    stopped: bool,
}

/// The directory holding `initdb` and `pg_ctl`: on `PATH`, else the newest
/// `/usr/lib/postgresql/*/bin`.
pub fn bin_dir() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if has(&d) {
                // A symlink in /usr/local/bin: the binaries' own directory finds their libraries.
                let real = std::fs::canonicalize(d.join("initdb")).ok();
                return Some(real.and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or(d));
            }
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| has(d))
        .collect();
    found.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A new temporary directory for a cluster: under /tmp when the server runs as another user
/// (a `TMPDIR` inside root's home would not be reachable for it).
fn new_dir(other_user: bool) -> tempfile::TempDir {
    let b = tempfile::Builder::new().prefix("evl-pg-").clone();
    if other_user {
        b.tempdir_in("/tmp").unwrap()
    } else {
        b.tempdir().unwrap()
    }
}

fn is_root() -> bool {
    // SAFETY-free check: the effective uid through the environment of `id -u`.
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .is_some_and(|s| s.trim() == "0")
}

impl Cluster {
    /// Starts a cluster, or prints the skip line and returns `None` when the server binaries
    /// are not installed (outside CI).
    pub fn start_or_skip(test: &str) -> Option<Cluster> {
        let Some(bin) = bin_dir() else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "{test}: PostgreSQL server binaries not found, and CI never skips (install Debian package `postgresql`)"
                );
            }
            // Straight to the process's stderr, past the test harness's capture.
            let _ = writeln!(
                std::io::stderr(),
                "SKIP {test}: PostgreSQL server binaries not installed (Debian package `postgresql`)"
            );
            return None;
        };
        Some(Cluster::start_in(&bin, None))
    }

    /// Starts a cluster with the binaries in `bin`; `conf` lines are appended to its
    /// postgresql.conf before it starts.
    pub fn start_in(bin: &Path, conf: Option<&str>) -> Cluster {
        let run_as = is_root().then(|| "postgres".to_owned());
        let dir = new_dir(run_as.is_some());
        Self::init_in(dir, bin, run_as, conf.unwrap_or(""))
    }

    fn init_in(dir: tempfile::TempDir, bin: &Path, run_as: Option<String>, conf: &str) -> Cluster {
        let c = Cluster {
            dir,
            bin: bin.to_path_buf(),
            port: free_port(),
            run_as,
            stopped: true,
        };
        c.own(c.dir.path());
        c.run(
            "initdb",
            &[
                "-D",
                &c.data().display().to_string(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-instructions",
                "-E",
                "UTF8",
            ],
        );
        c.configure(conf);
        let mut c = c;
        c.start();
        c
    }

    /// A cluster that archives its WAL into [`Cluster::archive_dir`] (what PITR replays).
    pub fn start_archiving(bin: &Path) -> Cluster {
        let run_as = is_root().then(|| "postgres".to_owned());
        let dir = new_dir(run_as.is_some());
        let archive = dir.path().join("archive");
        std::fs::create_dir(&archive).unwrap();
        let conf = format!(
            "archive_mode = on\narchive_command = 'test ! -f {a}/%f && cp %p {a}/%f'\n",
            a = archive.display()
        );
        Self::init_in(dir, bin, run_as, &conf)
    }

    /// Where an archiving cluster's WAL goes.
    pub fn archive_dir(&self) -> PathBuf {
        self.dir.path().join("archive")
    }

    /// A base backup of this cluster (`pg_basebackup`, WAL included) into a new directory,
    /// returned with the backup's path.
    pub fn base_backup(&self) -> (tempfile::TempDir, PathBuf) {
        let dir = new_dir(self.run_as.is_some());
        self.own(dir.path());
        let base = dir.path().join("base");
        self.run(
            "pg_basebackup",
            &[
                "-D",
                &base.display().to_string(),
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-X",
                "stream",
                "--checkpoint=fast",
            ],
        );
        (dir, base)
    }

    /// A new cluster recovered from the base backup `base` by replaying `archive` up to the
    /// restore point `target` (PostgreSQL's own PITR: `recovery_target_name`), then promoted.
    pub fn recover_to(primary: &Cluster, base: &Path, archive: &Path, target: &str) -> Cluster {
        let dir = new_dir(primary.run_as.is_some());
        let data = dir.path().join("data");
        let st = Command::new("cp")
            .arg("-a")
            .arg(base)
            .arg(&data)
            .status()
            .unwrap();
        assert!(st.success(), "copying the base backup");
        let c = Cluster {
            dir,
            bin: primary.bin.clone(),
            port: free_port(),
            run_as: primary.run_as.clone(),
            stopped: true,
        };
        c.own(c.dir.path());
        std::fs::write(data.join("recovery.signal"), b"").unwrap();
        c.own(&data);
        c.configure(&format!(
            "archive_mode = off\nrestore_command = 'cp {}/%f %p'\nrecovery_target_name = '{target}'\nrecovery_target_action = 'promote'\n",
            archive.display()
        ));
        let mut c = c;
        c.start();
        c
    }

    /// A standby of `primary` listening on `port` (a free one when `None`): `pg_basebackup -R`
    /// into a new directory, started. It streams from the primary; its configuration is the
    /// primary's (`postgresql.auto.conf` included) plus `conf`.
    pub fn standby_of(primary: &Cluster, port: Option<u16>, conf: Option<&str>) -> Cluster {
        let dir = new_dir(primary.run_as.is_some());
        let c = Cluster {
            dir,
            bin: primary.bin.clone(),
            port: port.unwrap_or_else(free_port),
            run_as: primary.run_as.clone(),
            stopped: true,
        };
        c.own(c.dir.path());
        c.run(
            "pg_basebackup",
            &[
                "-D",
                &c.data().display().to_string(),
                "-h",
                "127.0.0.1",
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
            ],
        );
        c.configure(conf.unwrap_or(""));
        let mut c = c;
        c.start();
        c
    }

    fn own(&self, path: &Path) {
        if let Some(user) = &self.run_as {
            let st = Command::new("chown")
                .arg("-R")
                .arg(user)
                .arg(path)
                .status()
                .unwrap();
            assert!(st.success(), "chown {user} {}", path.display());
        }
    }

    /// The data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The directory of the server's Unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn configure(&self, extra: &str) {
        let conf = self.data().join("postgresql.conf");
        let mut f = std::fs::OpenOptions::new().append(true).open(&conf).unwrap();
        write!(
            f,
            "\n# evl test cluster\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nmax_connections = 200\nwal_level = replica\nmax_wal_senders = 10\nfsync = on\n{extra}\n",
            self.port,
            self.socket_dir().display()
        )
        .unwrap();
        let hba = self.data().join("pg_hba.conf");
        let mut f = std::fs::OpenOptions::new().append(true).open(&hba).unwrap();
        writeln!(f, "host replication all 127.0.0.1/32 trust").unwrap();
    }

    /// Runs one of the server's programs (as the unprivileged user when root); panics with
    /// its output when it fails.
    pub fn run(&self, program: &str, args: &[&str]) {
        let out = self.try_run(program, args);
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
    }

    fn try_run(&self, program: &str, args: &[&str]) -> std::process::Output {
        let exe = self.bin.join(program);
        match &self.run_as {
            Some(user) => Command::new("runuser")
                .arg("-u")
                .arg(user)
                .arg("--")
                .arg(&exe)
                .args(args)
                .current_dir(self.dir.path())
                .output(),
            None => Command::new(&exe)
                .args(args)
                .current_dir(self.dir.path())
                .output(),
        }
        .unwrap_or_else(|e| panic!("{}: {e}", exe.display()))
    }

    /// Starts the server (waits until it accepts connections). A port taken meanwhile by
    /// another process (tests run in parallel, and a free port is only free when it was
    /// looked at) is replaced by another free one, up to three times.
    pub fn start(&mut self) {
        let log = self.dir.path().join("server.log").display().to_string();
        let data = self.data().display().to_string();
        for _ in 0..3 {
            let out = self.try_run("pg_ctl", &["start", "-w", "-t", "60", "-D", &data, "-l", &log]);
            if out.status.success() {
                self.stopped = false;
                return;
            }
            if !self.log().contains("could not bind") {
                break;
            }
            self.port = free_port();
            let conf = self.data().join("postgresql.conf");
            let mut f = std::fs::OpenOptions::new().append(true).open(&conf).unwrap();
            writeln!(f, "port = {}", self.port).unwrap();
        }
        self.run("pg_ctl", &["start", "-w", "-t", "60", "-D", &data, "-l", &log]);
        self.stopped = false;
    }

    /// Stops the server: `fast` (clean) or `immediate` (as a crash).
    pub fn stop(&mut self, mode: &str) {
        let data = self.data().display().to_string();
        self.run("pg_ctl", &["stop", "-w", "-m", mode, "-D", &data]);
        self.stopped = true;
    }

    /// Kills the server's processes with SIGKILL (the postmaster and every backend).
    pub fn kill9(&mut self) {
        let pid_file = self.data().join("postmaster.pid");
        if let Ok(text) = std::fs::read_to_string(&pid_file)
            && let Some(pid) = text.lines().next()
        {
            // The postmaster's children first (they would outlive it), then the postmaster.
            let _ = Command::new("pkill").args(["-KILL", "-P", pid]).status();
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
        self.stopped = true;
    }

    /// Sends `signal` (`-STOP`, `-KILL`, …) to a standby's WAL receiver. Stopped, the standby
    /// falls behind as over a slow network (the WAL sent meanwhile waits in its socket); killed,
    /// what was not yet written is gone, and the server restarts its processes.
    pub fn signal_receiver(&self, signal: &str) {
        let pid_file = self.data().join("postmaster.pid");
        let text = std::fs::read_to_string(&pid_file).unwrap();
        let pid = text.lines().next().unwrap();
        let st = Command::new("pkill")
            .args([signal, "-P", pid, "-f", "walreceiver"])
            .status()
            .unwrap();
        assert!(st.success(), "no walreceiver under postmaster {pid}");
    }

    /// Promotes a standby.
    pub fn promote(&self) {
        let data = self.data().display().to_string();
        self.run("pg_ctl", &["promote", "-w", "-D", &data]);
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A connection string for database `db` as the superuser over loopback TCP.
    pub fn url(&self, db: &str) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname={db}", self.port)
    }

    /// A superuser connection to `db`.
    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(db), postgres::NoTls).unwrap()
    }

    /// Runs `sql` as the superuser in database `db` (on a thread of its own, so it works from
    /// an async test too).
    pub fn sql(&self, db: &str, sql: &str) {
        std::thread::scope(|s| {
            s.spawn(|| self.client(db).batch_execute(sql).unwrap())
                .join()
                .unwrap()
        });
    }

    /// Creates database `name`, returns its connection string.
    /// (On a thread of its own: the client blocks on its own runtime, which cannot start
    /// inside an async test's.)
    pub fn create_db(&self, name: &str) -> String {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.client("postgres")
                    .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .unwrap()
            })
            .join()
            .unwrap()
        });
        self.url(name)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.stopped {
            let data = self.data().display().to_string();
            let exe = self.bin.join("pg_ctl");
            let args = ["stop", "-w", "-m", "immediate", "-D", data.as_str()];
            let _ = match &self.run_as {
                Some(user) => Command::new("runuser")
                    .arg("-u")
                    .arg(user)
                    .arg("--")
                    .arg(&exe)
                    .args(args)
                    .output(),
                None => Command::new(&exe).args(args).output(),
            };
        }
    }
}
