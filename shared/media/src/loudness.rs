//! EBU R128 loudness as ffmpeg's `ebur128` filter reports it, and the playback gain.

use serde::Serialize;

/// Playback target (ITU-R BS.1770 integrated loudness).
pub const TARGET_LUFS: f64 = -14.0;
/// Neither gain may lift the true peak above this.
pub const MAX_TRUE_PEAK_DBTP: f64 = -1.0;
/// ebur128's absolute gate: a measurement at or below it means nothing was audible.
pub const SILENCE_LUFS: f64 = -70.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Loudness {
    pub integrated_lufs: f64,
    pub loudness_range_lu: f64,
    pub true_peak_dbtp: f64,
}

impl Loudness {
    /// The gain that brings the track to −14 LUFS, lowered when it would push the true peak
    /// above −1 dBTP.
    pub fn gain_db(&self) -> f64 {
        gain_db(self.integrated_lufs, self.true_peak_dbtp)
    }
}

/// Gain to `TARGET_LUFS`, capped so that `true_peak + gain ≤ MAX_TRUE_PEAK_DBTP`.
pub fn gain_db(integrated_lufs: f64, true_peak_dbtp: f64) -> f64 {
    let wanted = TARGET_LUFS - integrated_lufs;
    let headroom = MAX_TRUE_PEAK_DBTP - true_peak_dbtp;
    let gain = wanted.min(headroom);
    (gain * 100.0).round() / 100.0
}

/// Read the summary ffmpeg's `ebur128` filter prints at the end of its log: `I: -20.0 LUFS`,
/// `LRA: 0.0 LU`, and with `peak=true` `Peak: -19.9 dBFS` (the last summary wins). Without
/// `peak=true`, pass the true peak measured otherwise ([`parse_max_volume`]).
pub fn parse_summary(stderr: &str) -> Option<Loudness> {
    parse_summary_with_peak(stderr, None)
}

/// As [`parse_summary`], with the true peak given when ebur128 did not measure it.
pub fn parse_summary_with_peak(stderr: &str, true_peak_dbtp: Option<f64>) -> Option<Loudness> {
    let summary = &stderr[stderr.rfind("Summary:")?..];
    let value = |label: &str| -> Option<f64> {
        let line = summary
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(label))?;
        let number = line[label.len()..].split_whitespace().next()?;
        match number {
            "-inf" => Some(f64::NEG_INFINITY),
            n => n.parse().ok(),
        }
    };
    Some(Loudness {
        integrated_lufs: value("I:")?,
        loudness_range_lu: value("LRA:")?,
        true_peak_dbtp: match true_peak_dbtp {
            Some(peak) => peak,
            None => value("Peak:")?,
        },
    })
}

/// The `max_volume: -25.2 dB` line of ffmpeg's `volumedetect` (the last one).
pub fn parse_max_volume(stderr: &str) -> Option<f64> {
    let line = stderr.lines().rev().find(|l| l.contains("max_volume:"))?;
    let value = line
        .split("max_volume:")
        .nth(1)?
        .split_whitespace()
        .next()?;
    match value {
        "-inf" => Some(f64::NEG_INFINITY),
        v => v.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUMMARY: &str = "[Parsed_ebur128_1 @ 0x55] Summary:

  Integrated loudness:
    I:         -27.8 LUFS
    Threshold: -37.8 LUFS

  Loudness range:
    LRA:         3.5 LU
    Threshold: -47.8 LUFS
    LRA low:   -27.8 LUFS
    LRA high:  -27.8 LUFS

  True peak:
    Peak:      -22.6 dBFS
";

    #[test]
    fn reads_ffmpeg_summary() {
        let l = parse_summary(SUMMARY).unwrap();
        assert_eq!(l.integrated_lufs, -27.8);
        assert_eq!(l.loudness_range_lu, 3.5);
        assert_eq!(l.true_peak_dbtp, -22.6);
        assert!(parse_summary("no summary here").is_none());
        let silent = SUMMARY.replace("-22.6 dBFS", "-inf dBFS");
        assert_eq!(
            parse_summary(&silent).unwrap().true_peak_dbtp,
            f64::NEG_INFINITY
        );
    }

    #[test]
    fn reads_volumedetect() {
        let log = "[Parsed_volumedetect_5 @ 0x55] mean_volume: -30.1 dB\n\
                   [Parsed_volumedetect_5 @ 0x55] max_volume: -25.2 dB\n";
        assert_eq!(parse_max_volume(log), Some(-25.2));
        assert_eq!(parse_max_volume("nothing"), None);
        let l = parse_summary_with_peak(SUMMARY, Some(-19.2)).unwrap();
        assert_eq!((l.integrated_lufs, l.true_peak_dbtp), (-27.8, -19.2));
    }

    #[test]
    fn gain_reaches_target_unless_the_peak_forbids_it() {
        // Quiet track with headroom: all the way to -14.
        assert_eq!(gain_db(-20.0, -10.0), 6.0);
        // Loud track: turned down.
        assert_eq!(gain_db(-8.0, -0.1), -6.0);
        // Quiet but peaky: only up to -1 dBTP.
        assert_eq!(gain_db(-20.0, -3.0), 2.0);
    }
}
