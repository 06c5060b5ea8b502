//! Five-dimensional audio embedding (energy, brightness, rhythm, dynamics, tonality) computed from
//! mono f32 PCM in one streaming pass with bounded memory. Every value is scaled to `0..=1`; the
//! constants and the scaling of each feature are documented in `docs/audio-analysis.md`.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use serde::{Deserialize, Serialize};

/// Sample rate the transcoder decodes to for analysis (ffmpeg -ac 1 -ar 22050 -f f32le).
pub const ANALYSIS_SAMPLE_RATE: u32 = 22_050;
/// FFT frame length at [`ANALYSIS_SAMPLE_RATE`] (~93 ms, Hann window). Other rates use the power
/// of two closest to the same duration.
pub const FRAME_LEN: usize = 2048;
/// Hop between frames at [`ANALYSIS_SAMPLE_RATE`] (~23 ms): a quarter frame at every rate.
pub const HOP_LEN: usize = 512;
/// Frames (for brightness and tonality) and 400 ms blocks (for dynamics) whose RMS is below this
/// are treated as silence and skipped.
pub const SILENCE_GATE_DBFS: f32 = -60.0;
/// Energy: overall RMS in dBFS mapped linearly from `[ENERGY_MIN_DBFS, ENERGY_MAX_DBFS]` to `[0, 1]`.
pub const ENERGY_MIN_DBFS: f32 = -60.0;
/// Upper end of the energy scale (a full-scale sine is -3 dBFS RMS).
pub const ENERGY_MAX_DBFS: f32 = 0.0;
/// Brightness: mean spectral centroid mapped on a log-frequency scale from this to [`BRIGHTNESS_MAX_HZ`].
pub const BRIGHTNESS_MIN_HZ: f32 = 100.0;
/// Upper end of the brightness scale.
pub const BRIGHTNESS_MAX_HZ: f32 = 8_000.0;
/// Rhythm: onsets per second mapped linearly from `[0, RHYTHM_MAX_ONSETS_PER_S]` to `[0, 1]`.
pub const RHYTHM_MAX_ONSETS_PER_S: f32 = 8.0;
/// Dynamics: loudness range (95th minus 10th percentile of 400 ms block RMS, dB) mapped linearly
/// from `[0, DYNAMICS_MAX_DB]` to `[0, 1]`.
pub const DYNAMICS_MAX_DB: f32 = 30.0;
/// Tonality is `1 - flatness / FLATNESS_WHITE_NOISE`: the expected spectral flatness of white
/// Gaussian noise's periodogram, `exp(-Euler's gamma)`. White noise maps to 0, a pure tone to ~1.
pub const FLATNESS_WHITE_NOISE: f32 = 0.561_459_5;

/// Spectral features only use bins up to this frequency (the Nyquist of [`ANALYSIS_SAMPLE_RATE`]),
/// so a 44.1 kHz decode measures the same band as the 22.05 kHz one.
const ANALYSIS_BAND_HZ: f32 = 11_025.0;
/// Power floor added in the flatness ratio (normalised so a full-scale sine peaks at 1, i.e. -100 dB).
const FLATNESS_EPS: f32 = 1e-10;
/// Compression gain in the onset function `ln(1 + gain * |X|)`.
const ONSET_LOG_GAIN: f32 = 1_000.0;
/// A frame is an onset when its flux exceeds the local median by this much (mean per-bin log flux).
const ONSET_DELTA: f32 = 0.1;
/// Radius of the local-maximum window for onset peaks.
const ONSET_PEAK_RADIUS_S: f32 = 0.05;
/// Radius of the local-median window for the adaptive onset threshold.
const ONSET_MEDIAN_RADIUS_S: f32 = 0.1;
/// Minimum gap between two onsets.
const ONSET_MIN_GAP_S: f32 = 0.05;
/// Dynamics blocks are 400 ms long: four steps of 100 ms (75 % overlap, as EBU R 128 momentary).
const BLOCK_STEP_S: f64 = 0.1;
const BLOCK_STEPS: usize = 4;
/// Loudness-range percentiles and the histogram that holds block levels (0.1 dB bins).
const RANGE_LOW_PERCENTILE: f64 = 0.10;
const RANGE_HIGH_PERCENTILE: f64 = 0.95;
const HIST_DB_PER_BIN: f32 = 0.1;
const HIST_BINS: usize = 720; // -60 .. +12 dBFS
/// Samples are clamped to +-4.0 (+12 dBFS; infinities clip there); NaN counts as 0.
const SAMPLE_LIMIT: f32 = 4.0;

/// The embedding stored per track; every field is in `0..=1` and finite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// Overall loudness (RMS dBFS).
    pub energy: f32,
    /// Mean spectral centroid on a log-frequency scale.
    pub brightness: f32,
    /// Onset density (onsets per second).
    pub rhythm: f32,
    /// Loudness range between quiet and loud passages.
    pub dynamics: f32,
    /// How tonal (peaky) rather than noisy (flat) the spectrum is.
    pub tonality: f32,
}

impl Embedding {
    /// The embedding as `[energy, brightness, rhythm, dynamics, tonality]`.
    #[must_use]
    pub fn to_array(self) -> [f32; 5] {
        [
            self.energy,
            self.brightness,
            self.rhythm,
            self.dynamics,
            self.tonality,
        ]
    }
}

/// Raw, unscaled measurements behind an [`Embedding`]. Always finite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// Overall RMS level in dBFS (floored at -120 dBFS).
    pub rms_dbfs: f32,
    /// Mean magnitude-weighted spectral centroid of non-silent frames, Hz (0 if none).
    pub centroid_hz: f32,
    /// Detected onsets divided by the duration in seconds.
    pub onset_rate_hz: f32,
    /// 95th minus 10th percentile of non-silent 400 ms block RMS levels, dB (0 if none).
    pub loudness_range_db: f32,
    /// Mean spectral flatness of non-silent frames' power spectra, `0..=1` (1 if none).
    pub flatness: f32,
}

impl Features {
    /// Scales the raw measurements to an [`Embedding`] with the documented constants.
    #[must_use]
    pub fn to_embedding(self) -> Embedding {
        let energy = (self.rms_dbfs - ENERGY_MIN_DBFS) / (ENERGY_MAX_DBFS - ENERGY_MIN_DBFS);
        let brightness = if self.centroid_hz > 0.0 {
            (self.centroid_hz / BRIGHTNESS_MIN_HZ).ln()
                / (BRIGHTNESS_MAX_HZ / BRIGHTNESS_MIN_HZ).ln()
        } else {
            0.0
        };
        Embedding {
            energy: unit(energy),
            brightness: unit(brightness),
            rhythm: unit(self.onset_rate_hz / RHYTHM_MAX_ONSETS_PER_S),
            dynamics: unit(self.loudness_range_db / DYNAMICS_MAX_DB),
            tonality: unit(1.0 - self.flatness / FLATNESS_WHITE_NOISE),
        }
    }
}

/// Clamps to `0..=1`, mapping NaN to 0.
fn unit(x: f32) -> f32 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

/// Returns `x` if finite, else `fallback`.
fn finite_or(x: f64, fallback: f32) -> f32 {
    let x = x as f32;
    if x.is_finite() { x } else { fallback }
}

/// Streaming extractor so a 30-minute track need not be held in memory at once. Memory is fixed
/// at construction; results do not depend on how the samples are split across [`Self::push`].
pub struct Extractor {
    sample_rate: u32,
    frame_len: usize,
    hop: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Samples of the frame being filled (starts with half a frame of zeros: centred frames).
    pending: Vec<f32>,
    fft_in: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    prev_log_mag: Vec<f32>,
    mag_scale: f32,
    max_bin: usize,
    bin_hz: f32,
    total_samples: u64,
    sum_sq: f64,
    voiced_frames: u64,
    centroid_sum: f64,
    flatness_sum: f64,
    onsets: OnsetPicker,
    range: LoudnessRange,
}

impl Extractor {
    /// A new extractor for mono audio at `sample_rate` Hz ([`ANALYSIS_SAMPLE_RATE`] is the
    /// reference; a rate of 0 yields `None` from [`Self::finish`]).
    #[must_use]
    pub fn new(sample_rate: u32) -> Self {
        let sr = sample_rate.max(1) as f32;
        let exponent = (FRAME_LEN as f32 * sr / ANALYSIS_SAMPLE_RATE as f32)
            .log2()
            .round();
        let frame_len = 1usize << (exponent.clamp(8.0, 14.0) as u32);
        let hop = frame_len * HOP_LEN / FRAME_LEN;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(frame_len);
        let window = (0..frame_len)
            .map(|i| {
                let phase = std::f32::consts::TAU * i as f32 / frame_len as f32;
                0.5 - 0.5 * phase.cos()
            })
            .collect();
        let mut pending = Vec::with_capacity(frame_len);
        pending.resize(frame_len / 2, 0.0);
        let max_bin = ((ANALYSIS_BAND_HZ * frame_len as f32 / sr) as usize).clamp(1, frame_len / 2);
        let frames_per_s = sr / hop as f32;
        let frames = |seconds: f32| (seconds * frames_per_s).round().max(1.0) as usize;
        Self {
            sample_rate,
            frame_len,
            hop,
            window,
            pending,
            fft_in: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            prev_log_mag: vec![0.0; max_bin],
            // A full-scale sine's peak bin has magnitude 1 (Hann window sum is frame_len / 2).
            mag_scale: 4.0 / frame_len as f32,
            max_bin,
            bin_hz: sr / frame_len as f32,
            total_samples: 0,
            sum_sq: 0.0,
            voiced_frames: 0,
            centroid_sum: 0.0,
            flatness_sum: 0.0,
            onsets: OnsetPicker::new(
                frames(ONSET_PEAK_RADIUS_S),
                frames(ONSET_MEDIAN_RADIUS_S),
                frames(ONSET_MIN_GAP_S) as u64,
            ),
            range: LoudnessRange::new(
                (f64::from(sample_rate) * BLOCK_STEP_S).round().max(1.0) as u64
            ),
        }
    }

    /// Feeds the next samples; any chunk size (including empty) is fine.
    pub fn push(&mut self, samples: &[f32]) {
        for &x in samples {
            let x = if x.is_nan() { 0.0 } else { x };
            let x = x.clamp(-SAMPLE_LIMIT, SAMPLE_LIMIT);
            let sq = f64::from(x * x);
            self.total_samples += 1;
            self.sum_sq += sq;
            self.range.push(sq);
            self.push_frame_sample(x);
        }
    }

    fn push_frame_sample(&mut self, x: f32) {
        self.pending.push(x);
        if self.pending.len() == self.frame_len {
            self.process_frame();
            self.pending.copy_within(self.hop.., 0);
            self.pending.truncate(self.frame_len - self.hop);
        }
    }

    fn process_frame(&mut self) {
        let mut frame_sq = 0.0f32;
        for ((dst, &x), &w) in self.fft_in.iter_mut().zip(&self.pending).zip(&self.window) {
            frame_sq += x * x;
            *dst = x * w;
        }
        let (input, spectrum, scratch) = (&mut self.fft_in, &mut self.spectrum, &mut self.scratch);
        if self
            .fft
            .process_with_scratch(input, spectrum, scratch)
            .is_err()
        {
            return; // Unreachable: buffers come from the plan and never change length.
        }
        let (mut flux, mut mag_sum, mut weighted, mut pow_sum) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        // Sum of ln(power) for the geometric mean: one ln per 16 bins of an f64 product (the
        // product of 16 powers in [1e-10, 64] stays far inside f64's range).
        let (mut log_pow_sum, mut product) = (0.0f64, 1.0f64);
        let bins = spectrum.iter().skip(1).take(self.max_bin);
        for (k, (c, prev)) in bins.zip(self.prev_log_mag.iter_mut()).enumerate() {
            let mag = c.norm_sqr().sqrt() * self.mag_scale;
            let log_mag = (1.0 + ONSET_LOG_GAIN * mag).ln();
            flux += (log_mag - *prev).max(0.0);
            *prev = log_mag;
            mag_sum += mag;
            weighted += mag * (k + 1) as f32;
            let power = mag * mag;
            pow_sum += power;
            product *= f64::from(power + FLATNESS_EPS);
            if k % 16 == 15 {
                log_pow_sum += product.ln();
                product = 1.0;
            }
        }
        let log_pow_mean = ((log_pow_sum + product.ln()) / self.max_bin as f64) as f32;
        let n = self.max_bin as f32;
        self.onsets.push(flux / n);
        let frame_dbfs = 10.0 * (frame_sq / self.frame_len as f32).max(1e-12).log10();
        if frame_dbfs >= SILENCE_GATE_DBFS && mag_sum > 0.0 {
            self.voiced_frames += 1;
            self.centroid_sum += f64::from(weighted / mag_sum * self.bin_hz);
            let flatness = log_pow_mean.exp() / (pow_sum / n + FLATNESS_EPS);
            self.flatness_sum += f64::from(flatness.clamp(0.0, 1.0));
        }
    }

    /// Raw measurements, or `None` with fewer than [`FRAME_LEN`] samples (at 22 050 Hz) or a
    /// sample rate of 0.
    #[must_use]
    pub fn finish_features(mut self) -> Option<Features> {
        if self.sample_rate == 0 || self.total_samples < self.frame_len as u64 {
            return None;
        }
        // Flush the tail: centred frames need half a frame of zeros after the last sample.
        for _ in 0..self.frame_len / 2 {
            self.push_frame_sample(0.0);
        }
        self.onsets.flush();
        let duration_s = self.total_samples as f64 / f64::from(self.sample_rate);
        let voiced = self.voiced_frames as f64;
        let (centroid, flatness) = if self.voiced_frames == 0 {
            (0.0, 1.0)
        } else {
            (self.centroid_sum / voiced, self.flatness_sum / voiced)
        };
        let mean_sq = (self.sum_sq / self.total_samples as f64).max(1e-12);
        Some(Features {
            rms_dbfs: finite_or(10.0 * mean_sq.log10(), -120.0),
            centroid_hz: finite_or(centroid, 0.0),
            onset_rate_hz: finite_or(self.onsets.count as f64 / duration_s, 0.0),
            loudness_range_db: finite_or(self.range.range_db(), 0.0),
            flatness: finite_or(flatness, 1.0).clamp(0.0, 1.0),
        })
    }

    /// The scaled embedding, or `None` when [`Self::finish_features`] is `None`.
    pub fn finish(self) -> Option<Embedding> {
        self.finish_features().map(Features::to_embedding)
    }
}

/// Embeds a whole in-memory track; see [`Extractor`].
#[must_use]
pub fn embed(samples: &[f32], sample_rate: u32) -> Option<Embedding> {
    let mut extractor = Extractor::new(sample_rate);
    extractor.push(samples);
    extractor.finish()
}

/// Peak picking on the onset function: a frame is an onset when it is the maximum within
/// `peak_radius`, exceeds the median within `median_radius` by [`ONSET_DELTA`] and comes at least
/// `min_gap` frames after the previous onset. Decisions lag `median_radius` frames behind.
#[derive(Default)]
struct OnsetPicker {
    ring: Vec<f32>,
    scratch: Vec<f32>,
    peak_radius: u64,
    median_radius: u64,
    min_gap: u64,
    frames: u64,
    next: u64,
    last: Option<u64>,
    count: u64,
}

impl OnsetPicker {
    fn new(peak_radius: usize, median_radius: usize, min_gap: u64) -> Self {
        let median_radius = median_radius.max(peak_radius);
        let len = 2 * median_radius + 1;
        Self {
            ring: vec![0.0; len],
            scratch: Vec::with_capacity(len),
            peak_radius: peak_radius as u64,
            median_radius: median_radius as u64,
            min_gap,
            ..Self::default()
        }
    }

    fn push(&mut self, value: f32) {
        let len = self.ring.len() as u64;
        self.ring[(self.frames % len) as usize] = value;
        self.frames += 1;
        while self.next + self.median_radius < self.frames {
            self.decide(self.next);
            self.next += 1;
        }
    }

    fn flush(&mut self) {
        while self.next < self.frames {
            self.decide(self.next);
            self.next += 1;
        }
    }

    fn decide(&mut self, centre: u64) {
        let len = self.ring.len() as u64;
        let at = |ring: &[f32], i: u64| ring[(i % len) as usize];
        let last_frame = self.frames - 1;
        let value = at(&self.ring, centre);
        let peak_lo = centre.saturating_sub(self.peak_radius);
        let peak_hi = (centre + self.peak_radius).min(last_frame);
        if (peak_lo..=peak_hi).any(|i| at(&self.ring, i) > value) {
            return;
        }
        let lo = centre.saturating_sub(self.median_radius);
        let hi = (centre + self.median_radius).min(last_frame);
        self.scratch.clear();
        self.scratch.extend((lo..=hi).map(|i| at(&self.ring, i)));
        let mid = self.scratch.len() / 2;
        let (_, median, _) = self.scratch.select_nth_unstable_by(mid, f32::total_cmp);
        let gap_ok = self.last.is_none_or(|last| centre - last >= self.min_gap);
        if value > *median + ONSET_DELTA && gap_ok {
            self.count += 1;
            self.last = Some(centre);
        }
    }
}

/// Loudness range: 400 ms blocks every 100 ms, levels above the silence gate kept in a 0.1 dB
/// histogram (fixed memory for any track length).
#[derive(Default)]
struct LoudnessRange {
    step_len: u64,
    step_pos: u64,
    step_sum: f64,
    steps: [f64; BLOCK_STEPS],
    steps_done: usize,
    hist: Vec<u64>,
}

impl LoudnessRange {
    fn new(step_len: u64) -> Self {
        let hist = vec![0; HIST_BINS];
        Self {
            step_len,
            hist,
            ..Self::default()
        }
    }

    fn push(&mut self, sq: f64) {
        self.step_sum += sq;
        self.step_pos += 1;
        if self.step_pos < self.step_len {
            return;
        }
        self.steps[self.steps_done % BLOCK_STEPS] = self.step_sum;
        self.steps_done += 1;
        self.step_sum = 0.0;
        self.step_pos = 0;
        if self.steps_done >= BLOCK_STEPS {
            let mean_sq =
                self.steps.iter().sum::<f64>() / (self.step_len * BLOCK_STEPS as u64) as f64;
            let dbfs = (10.0 * mean_sq.max(1e-12).log10()) as f32;
            if dbfs >= SILENCE_GATE_DBFS {
                let bin = ((dbfs - SILENCE_GATE_DBFS) / HIST_DB_PER_BIN) as usize;
                self.hist[bin.min(HIST_BINS - 1)] += 1;
            }
        }
    }

    fn percentile_db(&self, p: f64, total: u64) -> f64 {
        let rank = ((p * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        let bin = self.hist.iter().position(|&n| {
            seen += n;
            seen >= rank
        });
        let bin = bin.unwrap_or(HIST_BINS - 1) as f64;
        f64::from(SILENCE_GATE_DBFS) + (bin + 0.5) * f64::from(HIST_DB_PER_BIN)
    }

    fn range_db(&self) -> f64 {
        let total: u64 = self.hist.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let high = self.percentile_db(RANGE_HIGH_PERCENTILE, total);
        (high - self.percentile_db(RANGE_LOW_PERCENTILE, total)).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: u32 = ANALYSIS_SAMPLE_RATE;

    /// Deterministic xorshift32 noise, uniform in `[-1, 1)`.
    struct Rng(u32);

    impl Rng {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            (self.0 >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        }
    }

    fn len(seconds: f32) -> usize {
        (seconds * SR as f32) as usize
    }

    /// Sine at `rate` Hz with peak level `dbfs` (full scale = 0 dBFS peak).
    fn sine_at(rate: u32, hz: f32, dbfs: f32, seconds: f32) -> Vec<f32> {
        let (amp, step) = (
            10f32.powf(dbfs / 20.0),
            std::f32::consts::TAU * hz / rate as f32,
        );
        let n = (seconds * rate as f32) as usize;
        (0..n).map(|i| amp * (step * i as f32).sin()).collect()
    }

    fn sine(hz: f32, dbfs: f32, seconds: f32) -> Vec<f32> {
        sine_at(SR, hz, dbfs, seconds)
    }

    fn noise(amp: f32, seconds: f32, seed: u32) -> Vec<f32> {
        let mut rng = Rng(seed);
        (0..len(seconds)).map(|_| amp * rng.next()).collect()
    }

    /// Decaying noise bursts (5 ms time constant, 40 ms long) every `1 / rate` s from 0.1 s.
    fn clicks(rate: f32, seconds: f32) -> Vec<f32> {
        let (mut out, mut rng, mut start) = (vec![0.0; len(seconds)], Rng(7), 0.1);
        while start < seconds {
            for (i, s) in out.iter_mut().skip(len(start)).take(len(0.04)).enumerate() {
                *s = 0.8 * (-(i as f32) / (0.005 * SR as f32)).exp() * rng.next();
            }
            start += 1.0 / rate;
        }
        out
    }

    fn mix(a: &[f32], b: &[f32]) -> Vec<f32> {
        a.iter().zip(b).map(|(x, y)| x + y).collect()
    }

    fn raw_array(f: Features) -> [f32; 5] {
        let [a, b, c] = [f.rms_dbfs, f.centroid_hz, f.onset_rate_hz];
        [a, b, c, f.loudness_range_db, f.flatness]
    }

    /// Runs both entry points and checks every raw value is finite and every scaled one in 0..=1.
    fn analyse_at(samples: &[f32], sample_rate: u32) -> (Features, Embedding) {
        let mut extractor = Extractor::new(sample_rate);
        extractor.push(samples);
        let raw = extractor.finish_features().expect("long enough");
        assert!(raw_array(raw).iter().all(|x| x.is_finite()), "{raw:?}");
        let embedding = embed(samples, sample_rate).expect("long enough");
        assert_eq!(embedding, raw.to_embedding());
        let in_unit = |x: &f32| (0.0..=1.0).contains(x);
        assert!(embedding.to_array().iter().all(in_unit), "{embedding:?}");
        (raw, embedding)
    }

    fn analyse(samples: &[f32]) -> (Features, Embedding) {
        analyse_at(samples, SR)
    }

    #[test]
    fn sine_is_tonal_and_noise_is_flat() {
        let (raw, tone) = analyse(&sine(1000.0, -6.0, 5.0));
        assert!(tone.tonality > 0.8 && raw.flatness < 0.05, "{raw:?}");
        assert!((raw.centroid_hz - 1000.0).abs() < 50.0, "{raw:?}");
        let (raw, flat) = analyse(&noise(0.5, 5.0, 1));
        assert!(flat.tonality < 0.3 && raw.flatness > 0.5, "{raw:?}");
    }

    #[test]
    fn click_trains_give_their_onset_rate() {
        for rate in [2.0, 4.0] {
            let (raw, embedding) = analyse(&clicks(rate, 10.0));
            assert!((raw.onset_rate_hz - rate).abs() <= 0.25, "{rate}: {raw:?}");
            assert!((embedding.rhythm - rate / RHYTHM_MAX_ONSETS_PER_S).abs() < 0.05);
        }
        let (raw, _) = analyse(&mix(&clicks(4.0, 10.0), &noise(0.05, 10.0, 3)));
        assert!(
            (raw.onset_rate_hz - 4.0).abs() <= 0.25,
            "over noise: {raw:?}"
        );
        // Steady signals: at most the start and the cut at the end.
        assert!(analyse(&sine(440.0, -6.0, 10.0)).0.onset_rate_hz < 0.3);
        assert!(analyse(&noise(0.5, 10.0, 2)).0.onset_rate_hz < 0.3);
    }

    #[test]
    fn louder_is_more_energetic_and_silence_is_zero() {
        let (loud_raw, loud) = analyse(&sine(1000.0, -6.0, 3.0));
        let (quiet_raw, quiet) = analyse(&sine(1000.0, -26.0, 3.0));
        assert!(loud.energy > quiet.energy, "{loud:?} {quiet:?}");
        // RMS of a sine is 3 dB below its peak.
        assert!((loud_raw.rms_dbfs + 9.03).abs() < 0.05, "{loud_raw:?}");
        assert!((loud_raw.rms_dbfs - quiet_raw.rms_dbfs - 20.0).abs() < 0.05);
        let (raw, silence) = analyse(&vec![0.0; len(3.0)]);
        assert_eq!(silence.to_array(), [0.0; 5], "{raw:?}");
        assert_eq!(raw.rms_dbfs, -120.0);
    }

    #[test]
    fn high_sine_is_brighter() {
        let (high_raw, high) = analyse(&sine(4000.0, -6.0, 3.0));
        let (low_raw, low) = analyse(&sine(200.0, -6.0, 3.0));
        assert!(high.brightness > low.brightness + 0.5, "{high_raw:?}");
        assert!((low_raw.centroid_hz - 200.0).abs() < 20.0, "{low_raw:?}");
    }

    #[test]
    fn alternating_levels_are_more_dynamic() {
        let (steady_raw, steady) = analyse(&sine(440.0, -6.0, 12.0));
        let mut alternating = sine(440.0, -6.0, 12.0);
        for (i, s) in alternating.iter_mut().enumerate() {
            if (i / len(2.0)) % 2 == 1 {
                *s *= 0.1; // -20 dB
            }
        }
        let (raw, dynamic) = analyse(&alternating);
        assert!(steady_raw.loudness_range_db < 0.5, "{steady_raw:?}");
        assert!((raw.loudness_range_db - 20.0).abs() < 0.5, "{raw:?}");
        assert!(dynamic.dynamics > steady.dynamics + 0.5);
    }

    #[test]
    fn chunking_does_not_change_the_result() {
        let signal = mix(&clicks(3.0, 3.0), &noise(0.05, 3.0, 5));
        let signal = mix(&signal, &sine(300.0, -20.0, 3.0));
        let (whole, _) = analyse(&signal);
        for chunk in [1, 333, 4096] {
            let mut extractor = Extractor::new(SR);
            for part in signal.chunks(chunk) {
                extractor.push(part);
                extractor.push(&[]);
            }
            let chunked = extractor.finish_features().expect("long enough");
            let pairs = raw_array(whole).into_iter().zip(raw_array(chunked));
            for (a, b) in pairs {
                assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{chunk}: {a} {b}");
            }
            let scaled = whole.to_embedding().to_array().into_iter();
            let pairs = scaled.zip(chunked.to_embedding().to_array());
            assert!(pairs.into_iter().all(|(x, y)| (x - y).abs() <= 1e-5));
        }
    }

    #[test]
    fn short_and_degenerate_input_does_not_panic() {
        assert_eq!(embed(&[], SR), None);
        assert_eq!(embed(&[0.5; FRAME_LEN - 1], SR), None);
        assert!(embed(&[0.5; FRAME_LEN], SR).is_some());
        assert_eq!(embed(&noise(0.5, 1.0, 1), 0), None);
        assert_eq!(Extractor::new(SR).finish(), None);
        let mut hostile = noise(0.5, 2.0, 9);
        for (i, s) in hostile.iter_mut().enumerate().step_by(97) {
            *s = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, -1e30][i % 5];
        }
        analyse(&hostile);
        analyse(&[1.0; FRAME_LEN]);
        for rate in [1, 8_000, 44_100, 48_000, 192_000, u32::MAX] {
            let mut extractor = Extractor::new(rate);
            extractor.push(&noise(0.5, 0.5, 4));
            let embedding = extractor.finish().map(Embedding::to_array);
            assert!(
                embedding
                    .unwrap_or_default()
                    .iter()
                    .all(|x| (0.0..=1.0).contains(x))
            );
        }
    }

    #[test]
    fn other_sample_rates_measure_the_same() {
        let (reference, _) = analyse(&sine(1000.0, -6.0, 3.0));
        for rate in [44_100, 48_000] {
            let (raw, embedding) = analyse_at(&sine_at(rate, 1000.0, -6.0, 3.0), rate);
            assert!((raw.rms_dbfs - reference.rms_dbfs).abs() < 0.1, "{raw:?}");
            assert!(
                (raw.centroid_hz - reference.centroid_hz).abs() < 30.0,
                "{raw:?}"
            );
            assert!(embedding.tonality > 0.8, "{rate}: {raw:?}");
        }
    }

    #[test]
    fn to_array_keeps_field_order() {
        let fields = [0.1, 0.2, 0.3, 0.4, 0.5];
        let [energy, brightness, rhythm, dynamics, tonality] = fields;
        let embedding = Embedding {
            energy,
            brightness,
            rhythm,
            dynamics,
            tonality,
        };
        assert_eq!(embedding.to_array(), fields);
    }
}
