//! A loopback S3 server for the tests: moto's server mode (`pip install 'moto[server]'`),
//! started on a free port and stopped with the test. It speaks S3 over HTTP as a real
//! store does: SigV4, multipart uploads with their 5 MiB minimum, conditional PUTs.
//! `tests/s3_tool.py` is the tests' own (boto3) view of what is stored.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The secret the tests give cdncost, grepped for in every output.
pub const SECRET_KEY: &str = "moto-secret-Zq8vW2xK7pLm";
pub const ACCESS_KEY: &str = "AKIAMOTOTESTKEY";
pub const BUCKET: &str = "studio-lake";

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

/// Whether moto's server can run here; where CI requires it
/// (`CDNCOST_REQUIRE_EXTERNAL_READERS=1`), its absence fails the test.
pub fn moto_available() -> bool {
    super::python_has(
        "import moto.server, boto3, flask",
        "moto's S3 server",
        "pip install 'moto[server]'",
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    /// A started moto for a test, or `None` (the test then says SKIPPED and returns).
    pub fn for_test() -> Option<Moto> {
        moto_available().then(Moto::start)
    }

    /// Runs the binary in `w` with this server's environment.
    pub fn cdncost(&self, w: &super::Workdir, args: &[&str]) -> super::Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        w.run_env(args, &env)
    }

    /// Starts moto on a free port with the bucket made.
    pub fn start() -> Moto {
        let port = free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m moto.server starts");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        moto.tool(&["mkbucket", BUCKET]);
        moto
    }

    /// The environment cdncost reaches the store with.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.env_via(&self.endpoint)
    }

    /// The same, through another address (a slow link in front of moto).
    pub fn env_via(&self, endpoint: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", endpoint.to_string()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
        ]
    }

    /// Runs `tests/s3_tool.py` against this server; its stdout.
    pub fn tool(&self, args: &[&str]) -> String {
        let out = self.tool_command(args).output().unwrap();
        assert!(
            out.status.success(),
            "s3_tool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn tool_command(&self, args: &[&str]) -> Command {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/s3_tool.py");
        let mut command = Command::new("python3");
        command
            .arg(script)
            .arg(&self.endpoint)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
        command
    }

    /// Every object below `prefix`, as (key below the prefix, size).
    pub fn objects(&self, prefix: &str) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .tool(&["list", BUCKET, prefix])
            .lines()
            .map(|line| {
                let (key, size) = line.split_once('\t').unwrap();
                let key = key.strip_prefix(prefix).unwrap().trim_start_matches('/');
                // Rollup parts named without their write ids, to compare with a disk lake.
                (super::without_part_id(key), size.parse().unwrap())
            })
            .collect();
        out.sort();
        out
    }

    /// The open multipart uploads below `prefix` (their keys).
    pub fn uploads(&self, prefix: &str) -> Vec<String> {
        self.tool(&["uploads", BUCKET, prefix])
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect()
    }

    /// Waits (up to 30 s) until the object `key` exists below `prefix`.
    #[track_caller]
    pub fn wait_for(&self, prefix: &str, key: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.objects(prefix).iter().any(|(k, _)| k == key) {
            assert!(Instant::now() < deadline, "{what}: no {key} after 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Downloads the lake below `prefix` into `dir`.
    pub fn sync(&self, prefix: &str, dir: &Path) -> PathBuf {
        self.tool(&["sync", BUCKET, prefix, dir.to_str().unwrap()]);
        dir.to_path_buf()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary started in `dir` with `env` (stdout dropped, stderr kept for the message
/// of a failed expectation: read it with `wait_with_output`).
pub fn spawn_cdncost(dir: &Path, args: &[&str], env: &[(&'static str, String)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cdncost"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the cdncost binary starts")
}

/// A slow link: a TCP relay in front of `upstream` passing at most `bytes_per_second`
/// each way. A real network condition (uploads take a while), not a change to anyone's
/// code. Runs until the test ends.
pub fn slow_link(upstream: &str, bytes_per_second: usize) -> String {
    let upstream = upstream.trim_start_matches("http://").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || relay(client, server, bytes_per_second));
            std::thread::spawn(move || relay(s2, c2, bytes_per_second));
        }
    });
    address
}

fn relay(mut from: TcpStream, mut to: TcpStream, bytes_per_second: usize) {
    let chunk = (bytes_per_second / 100).max(1024);
    let mut buf = vec![0u8; chunk];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_secs_f64(n as f64 / bytes_per_second as f64));
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// A relay in front of `upstream` that counts the HTTP requests passing through it (the
/// request lines a client sends: `GET /… HTTP/1.1`, `PUT`, `HEAD`, `POST`, `DELETE`),
/// as a store's request log would. Runs until the test ends.
pub fn counting_link(upstream: &str) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let upstream = upstream.trim_start_matches("http://").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let log = log.clone();
            std::thread::spawn(move || relay_counting(client, server, Some(log)));
            std::thread::spawn(move || relay_counting(s2, c2, None));
        }
    });
    (address, seen)
}

fn relay_counting(
    mut from: TcpStream,
    mut to: TcpStream,
    log: Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    // The bytes since the last line end, so a request line split across reads counts.
    let mut line = Vec::new();
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                for &b in buf[..n].iter().filter(|_| log.is_some()) {
                    if b == b'\n' {
                        let text = String::from_utf8_lossy(&line);
                        let text = text.trim_end_matches('\r');
                        let method = text.split(' ').next().unwrap_or("");
                        if ["GET", "PUT", "HEAD", "POST", "DELETE"].contains(&method)
                            && text.ends_with(" HTTP/1.1")
                        {
                            if let Some(log) = &log {
                                log.lock().unwrap().push(text.to_string());
                            }
                        }
                        line.clear();
                    } else if line.len() < 4096 {
                        line.push(b);
                    }
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}
