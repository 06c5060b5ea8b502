//! `make bench`, transcoder part: one 5-minute 44.1 kHz stereo FLAC through the worker's media
//! pipeline (probe, three encoders at once, analysis riding on the Opus process, the two
//! 30-second previews in a fourth), beside
//! - the baseline: one plain ffmpeg process producing the same five encodes, and
//! - the CPU floor: the five encodes run alone, one after another (their CPU summed).
//!
//! Targets (issue 4): wall ≤ 0.65× the baseline on 2 cores; CPU ≤ 1.15× the floor; embedding
//! extraction ≥ 200× realtime on one core. CPU is user+system time of this process and its
//! children, from /proc (Linux, as on Lambda).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hound_media::embedding::{ANALYSIS_SAMPLE_RATE, Extractor};
use hound_media::encode::{self, Progress, RENDITIONS};
use hound_media::preview::{PREVIEW_SECONDS, PREVIEWS};
use hound_media::probe;

const SECONDS: u32 = 300;

/// User + system CPU of this process and its reaped children, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the parenthesised command name; utime is field 14 overall.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // rest[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17.
    let ticks: u64 = fields[11..15].iter().sum();
    ticks as f64 / 100.0
}

struct Run {
    wall: Duration,
    cpu: f64,
}

async fn measure<F, Fut>(f: F) -> Run
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let cpu = cpu_seconds();
    let started = Instant::now();
    f().await;
    Run {
        wall: started.elapsed(),
        cpu: cpu_seconds() - cpu,
    }
}

fn ffmpeg(args: &[String]) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-threads", "1"])
        .args(args)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg {args:?}");
}

fn s(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let master = dir.path().join("master.flac");
    let d = SECONDS.to_string();
    let generate: Vec<String> = [
        "-f",
        "lavfi",
        "-i",
        "sine=f=220:r=44100",
        "-f",
        "lavfi",
        "-i",
        "sine=f=331:r=44100",
        "-f",
        "lavfi",
        "-i",
        "anoisesrc=r=44100:a=0.25:c=pink",
        "-filter_complex",
        "[0][1][2]amix=inputs=3,aformat=channel_layouts=stereo",
        "-t",
        &d,
        "-c:a",
        "flac",
    ]
    .iter()
    .map(|a| a.to_string())
    .chain([master.display().to_string()])
    .collect();
    ffmpeg(&generate);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let audio = probe::audio(&master)
        .await
        .expect("the bench master probes");

    // The worker's pipeline.
    let out = dir.path().join("worker");
    std::fs::create_dir_all(&out).unwrap();
    let mut analysis = None;
    let worker = measure(|| async {
        analysis = Some(
            encode::transcode(
                &master,
                &out,
                &audio,
                Duration::ZERO,
                Arc::new(Progress::default()),
            )
            .await
            .expect("the worker pipeline"),
        );
    })
    .await;

    // Baseline: one ffmpeg, five outputs (the previews are the first 30 s).
    let base_dir = dir.path().join("baseline");
    std::fs::create_dir_all(&base_dir).unwrap();
    let preview_length = PREVIEW_SECONDS.to_string();
    let limit = |r: &encode::Rendition| -> Vec<String> {
        if PREVIEWS.contains(r) {
            vec!["-t".into(), preview_length.clone()]
        } else {
            Vec::new()
        }
    };
    let mut args: Vec<String> = vec!["-i".into(), master.display().to_string()];
    for r in RENDITIONS.iter().chain(&PREVIEWS) {
        args.extend(limit(r));
        args.extend(encode::output_options(&audio, r));
        args.push(output(&base_dir, r.name, r.extension));
    }
    let baseline = measure(|| async { ffmpeg(&args) }).await;

    // Floor: each encode alone.
    let mut floor_cpu = 0.0;
    for r in RENDITIONS.iter().chain(&PREVIEWS) {
        let mut args: Vec<String> = vec!["-i".into(), master.display().to_string()];
        args.extend(limit(r));
        args.extend(encode::output_options(&audio, r));
        args.push(output(&base_dir, &format!("alone-{}", r.name), r.extension));
        floor_cpu += measure(|| async { ffmpeg(&args) }).await.cpu;
    }
    let floor_wall = floor_cpu / cores as f64;

    // Embedding extraction alone, on decoded PCM in memory, one core.
    let pcm = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(&master)
        .args([
            "-ac",
            "1",
            "-ar",
            &ANALYSIS_SAMPLE_RATE.to_string(),
            "-f",
            "f32le",
            "pipe:1",
        ])
        .output()
        .expect("decoding");
    let samples: Vec<f32> = pcm
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let started = Instant::now();
    let mut extractor = Extractor::new(ANALYSIS_SAMPLE_RATE);
    for chunk in samples.chunks(16 * 1024) {
        extractor.push(chunk);
    }
    let embedding = extractor.finish();
    let embed_time = started.elapsed();

    let (_, analysis) = analysis.expect("ran");
    println!();
    println!("transcoder: one {SECONDS} s 44.1 kHz stereo FLAC, {cores} cores");
    println!(
        "  worker pipeline        wall {:>6.2} s   cpu {:>6.2} s",
        s(worker.wall),
        worker.cpu
    );
    println!(
        "  baseline (1 ffmpeg)    wall {:>6.2} s   cpu {:>6.2} s",
        s(baseline.wall),
        baseline.cpu
    );
    println!(
        "  floor (encodes alone)  wall {:>6.2} s   cpu {:>6.2} s   (wall = cpu / {cores} cores)",
        floor_wall, floor_cpu
    );
    let wall_ratio = s(worker.wall) / s(baseline.wall);
    let cpu_ratio = worker.cpu / floor_cpu;
    println!(
        "  wall vs baseline  {wall_ratio:>5.2}x  (target ≤ 0.65x)  {}",
        verdict(wall_ratio <= 0.65)
    );
    println!(
        "  cpu vs floor      {cpu_ratio:>5.2}x  (target ≤ 1.15x)  {}",
        verdict(cpu_ratio <= 1.15)
    );
    println!("  wall vs floor     {:>5.2}x", s(worker.wall) / floor_wall);
    println!(
        "  realtime factor   {:>5.1}x  ({SECONDS} s of audio in {:.2} s)",
        f64::from(SECONDS) / s(worker.wall),
        s(worker.wall)
    );
    let embed_rt = f64::from(SECONDS) / s(embed_time);
    println!(
        "  embedding         {embed_rt:>5.0}x realtime on one core ({:.3} s)  (target ≥ 200x)  {}",
        s(embed_time),
        verdict(embed_rt >= 200.0)
    );
    println!(
        "  measured: {:.1} LUFS, LRA {:.1} LU, true peak {:.1} dBTP; embedding {:?}",
        analysis.loudness.integrated_lufs,
        analysis.loudness.loudness_range_lu,
        analysis.loudness.true_peak_dbtp,
        embedding.map(|e| e.to_array())
    );
}

fn output(dir: &Path, name: &str, extension: &str) -> String {
    dir.join(format!("{name}.{extension}"))
        .display()
        .to_string()
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}
