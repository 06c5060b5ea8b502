//! Waveform peaks in the BBC audiowaveform JSON format, version 2: one channel, 8-bit min/max
//! pairs, about `POINTS` pairs whatever the track's length.

use serde::Serialize;

/// Pairs per track (the last one may cover fewer samples).
pub const POINTS: usize = 1000;

/// The JSON document players draw from (`audiowaveform --output-format json` compatible).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waveform {
    pub version: u32,
    pub channels: u32,
    pub sample_rate: u32,
    pub samples_per_pixel: usize,
    pub bits: u32,
    pub length: usize,
    pub data: Vec<i8>,
}

/// Builds the peaks while the PCM streams past, knowing the total length up front (from the
/// probe). Samples past the expected total extend the last pixel rather than adding pixels.
pub struct Builder {
    sample_rate: u32,
    per_pixel: usize,
    in_pixel: usize,
    min: f32,
    max: f32,
    data: Vec<i8>,
}

fn to_i8(x: f32) -> i8 {
    // Round towards the full range: ±1.0 maps to ±127 (-128 is never produced).
    (x.clamp(-1.0, 1.0) * 127.0).round() as i8
}

impl Builder {
    pub fn new(sample_rate: u32, expected_samples: usize) -> Self {
        Self {
            sample_rate,
            // Rounded down: the last pixel absorbs the remainder, so there are exactly
            // `POINTS` pixels whenever there are that many samples.
            per_pixel: (expected_samples / POINTS).max(1),
            in_pixel: 0,
            min: 0.0,
            max: 0.0,
            data: Vec::with_capacity(2 * POINTS + 2),
        }
    }

    pub fn push(&mut self, samples: &[f32]) {
        for &s in samples {
            if self.in_pixel == self.per_pixel && self.data.len() < 2 * (POINTS - 1) {
                self.flush();
            }
            self.min = self.min.min(s);
            self.max = self.max.max(s);
            self.in_pixel += 1;
        }
    }

    fn flush(&mut self) {
        self.data.push(to_i8(self.min));
        self.data.push(to_i8(self.max));
        self.in_pixel = 0;
        self.min = 0.0;
        self.max = 0.0;
    }

    pub fn finish(mut self) -> Waveform {
        if self.in_pixel > 0 || self.data.is_empty() {
            self.flush();
        }
        Waveform {
            version: 2,
            channels: 1,
            sample_rate: self.sample_rate,
            samples_per_pixel: self.per_pixel,
            bits: 8,
            length: self.data.len() / 2,
            data: self.data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_a_thousand_points_whatever_the_length() {
        for seconds in [1usize, 30, 300, 1800] {
            let n = seconds * 22_050;
            let mut b = Builder::new(22_050, n);
            let sine: Vec<f32> = (0..n).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
            for chunk in sine.chunks(4096) {
                b.push(chunk);
            }
            let w = b.finish();
            assert!(
                (990..=1000).contains(&w.length),
                "{seconds}s → {}",
                w.length
            );
            assert_eq!(w.data.len(), 2 * w.length);
            // A half-scale sine peaks at about ±64 in 8 bits.
            assert!(w.data.iter().all(|&v| (-64..=64).contains(&v)));
            assert_eq!(w.data.iter().max(), Some(&64));
        }
    }

    #[test]
    fn silence_and_empty_input_are_flat() {
        let w = Builder::new(22_050, 0).finish();
        assert_eq!(w.length, 1);
        assert_eq!(w.data, vec![0, 0]);
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(json["version"], 2);
        assert_eq!(json["bits"], 8);
    }
}
