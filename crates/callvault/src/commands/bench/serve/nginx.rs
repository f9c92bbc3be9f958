//! nginx as the anchor: a static file server configured as one would for media (sendfile,
//! keep-alive, TCP_NODELAY, no access log, one worker per core), on a port of its own,
//! stopped when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::load::{self, Load, Measured};

pub struct Nginx {
    child: Child,
    port: u16,
}

impl Nginx {
    /// Serves `web/recording.mp3`; its configuration and logs live in `work`.
    pub fn start(work: &Path, web: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let temp = work.join("nginx-temp");
        std::fs::create_dir_all(&temp)?;
        let (work_s, web_s, temp_s) = (work.display(), web.display(), temp.display());
        let conf = format!(
            "worker_processes auto;
daemon off;
pid {work_s}/nginx.pid;
error_log {work_s}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    # Not tcp_nopush: with sendfile it corks a 206's last segment until the client's delayed
    # ACK (24 ranges/s at one client, 40 ms each, against 12,700 without).
    tcp_nodelay on;
    keepalive_requests 1000000;
    types {{ audio/mpeg mp3; }}
    client_body_temp_path {temp_s}/body;
    proxy_temp_path {temp_s}/proxy;
    fastcgi_temp_path {temp_s}/fastcgi;
    uwsgi_temp_path {temp_s}/uwsgi;
    scgi_temp_path {temp_s}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {web_s};
    }}
}}
"
        );
        let conf_path = work.join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let child = Command::new(super::which("nginx").context("nginx")?)
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(work)
            .arg("-e")
            .arg(work.join("nginx-error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting nginx")?;
        let mut nginx = Self { child, port };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = nginx.child.try_wait()? {
                bail!(
                    "nginx exited ({status}): {}",
                    std::fs::read_to_string(work.join("nginx-error.log")).unwrap_or_default()
                );
            }
            if started.elapsed() > Duration::from_secs(10) {
                bail!("nginx did not listen on port {port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(nginx)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/recording.mp3", self.port)
    }

    pub async fn measure(&self, load: &Load, body_bytes: u64) -> anyhow::Result<Measured> {
        load::run(load, &self.processes(), body_bytes).await
    }

    /// The master and its workers (which do the serving).
    fn processes(&self) -> Vec<u32> {
        let master = self.child.id();
        let mut pids = vec![master];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let parent = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|stat| {
                    let (_, rest) = stat.rsplit_once(')')?;
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                });
            if parent == Some(master) {
                pids.push(pid);
            }
        }
        pids
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGKILL would end the master alone and leave its workers; SIGTERM (nginx's fast
        // shutdown) ends them all.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
