//! `cdncost summary`: what is in the lake, per China day and channel.

use anyhow::Result;
use cdncost::exit::Exit;
use cdncost::report::summary::channel_day_summary;
use cdncost::table::render_frame;

use super::{Context, LakeDaysArgs};

/// Requests and log bytes per China day and channel, from the lake.
///
/// Untagged traffic (no `us`, or a `us` without a developer tag) is shown as
/// "(untagged)". `share` is the channel's part of that day's log bytes.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub days: LakeDaysArgs,
}

pub fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let frame = channel_day_summary(&ctx.lake, args.days.from, args.days.to)?;
    outln!("{}", render_frame(&frame).trim_end_matches('\n'))?;
    Ok(Exit::Ok)
}
