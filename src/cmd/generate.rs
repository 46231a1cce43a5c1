//! `cdncost generate`: realistic synthetic logs, for the sample data and the benchmark.

use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;

use cdncost::china_time::parse_date;
use cdncost::exit::Exit;
use cdncost::generator::{
    generate_logs, generate_polyv, generate_polyv_account, LogShape, LogSpec, DOMAINS,
};
use cdncost::lake::Scope;

use super::{all_cores, Context};

/// Make realistic synthetic CDN logs with their ground truth.
///
/// Writes OUT/cdn_logs/date=YYYY-MM-DD/<YYYYMMDDHH>-<domain>-mainland.gz, one gzip file
/// per China hour and domain, plus OUT/expected_totals.csv (requests and bytes per day
/// and channel, counted by the generator) and OUT/expected_files.csv (lines and malformed
/// lines per file). The same spec and seed always give the same bytes. Also writes
/// OUT/polyv/videos.csv (a Polyv mapping file) and OUT/polyv/traffic.csv (the daily
/// traffic the loopback Polyv server serves).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directory
    #[arg(long, default_value = "generated")]
    pub out: PathBuf,
    /// First China day
    #[arg(long, value_parser = parse_date, default_value = "2026-11-18")]
    pub from: NaiveDate,
    /// Number of days
    #[arg(long, default_value_t = 2)]
    pub days: u32,
    /// Domains (one file per hour per domain)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=DOMAINS.len() as i64))]
    pub domains: u8,
    /// Requests in the busiest hour of the main domain (others follow a daily curve)
    #[arg(long, default_value_t = 400)]
    pub peak_requests_per_hour: u64,
    /// Malformed lines in all (empty, cut off, binary, bad numbers), spread over the files
    #[arg(long, default_value_t = 0)]
    pub malformed: u32,
    #[arg(long, default_value_t = 20261118)]
    pub seed: u64,
    /// gzip level of the files (the platform's look like the default, 6)
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub gzip_level: u32,
    /// Line shape: `real` (published Tencent CDN lines: quoted agent and range, `(null)` and
    /// `NULL` markers, HTTPS, 16 fields) or `classic` (the documented illustrative lines:
    /// `-` markers, `bytes=` ranges, 15/16 fields, two time formats). Same seed, same
    /// requests and totals in both.
    #[arg(long, value_enum, default_value_t = LogShape::Real)]
    pub shape: LogShape,
    /// Threads [default: all cores]
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// A further account (a mini-program and a Polyv user) under OUT/accounts/NAME/, with
    /// the same layout: its own logs (half the traffic, another seed), usage series and
    /// Polyv videos (other vids). Repeat for more; the loopback servers of `demo` and
    /// `examples/serve` serve each to its own credentials.
    #[arg(long = "account", value_name = "NAME")]
    pub accounts: Vec<String>,
}

pub fn run(_ctx: &Context, args: Args) -> Result<Exit> {
    let spec = LogSpec {
        start: args.from,
        days: args.days,
        domains: args.domains as usize,
        peak_requests_per_hour: args.peak_requests_per_hour,
        malformed_lines: args.malformed,
        seed: args.seed,
        gzip_level: args.gzip_level,
        shape: args.shape,
    };
    let jobs = args.jobs.unwrap_or_else(all_cores);
    let mut files = generate_logs(&spec, &args.out, jobs)?;
    generate_polyv(args.from, args.days, args.seed, &args.out)?;
    for (i, name) in args.accounts.iter().enumerate() {
        Scope::new("account", name)?;
        let k = i as u64 + 1;
        let out = args.out.join("accounts").join(name);
        let spec = LogSpec {
            seed: args.seed.wrapping_add(7919 * k),
            peak_requests_per_hour: (args.peak_requests_per_hour / 2).max(1),
            malformed_lines: 0,
            ..spec.clone()
        };
        files.extend(generate_logs(&spec, &out, jobs)?);
        generate_polyv_account(args.from, args.days, spec.seed, &out, k)?;
    }
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    outln!(
        "wrote {} log files ({:.1} MB gzip) under {}",
        files.len(),
        bytes as f64 / 1e6,
        args.out.join("cdn_logs").display()
    )?;
    for name in &args.accounts {
        outln!(
            "account {name}: {}",
            args.out.join("accounts").join(name).display()
        )?;
    }
    outln!(
        "ground truth: {}",
        args.out.join("expected_totals.csv").display()
    )?;
    Ok(Exit::Ok)
}
