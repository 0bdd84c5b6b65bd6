//! Seeded noise and intensity non-uniformity: Rician (MR magnitude), Gaussian (CT), Poisson
//! (NM counts), and a smooth multiplicative bias field.
//!
//! Every function draws one independent stream per slice, keyed by `(seed, key, slice)`, so the
//! result is the same whatever the thread count.

use csfleak_volume::{DVec3, Volume};
use rand::Rng;
use rand_distr::{Distribution, Normal, Poisson};
use rayon::prelude::*;

use crate::study::{hash64, rng_for};

/// Apply `f(rng, value)` to every voxel, one random stream per slice.
fn per_slice(
    volume: &mut Volume,
    seed: u64,
    key: &str,
    f: impl Fn(&mut rand_chacha::ChaCha8Rng, f32) -> f32 + Sync,
) {
    for_each_slice(volume, |k, slice| {
        let mut rng = rng_for(seed, &format!("{key}/slice/{k}"));
        for v in slice {
            *v = f(&mut rng, *v);
        }
    });
}

/// Run `f(k, voxels of slice k)` over the slices in parallel.
pub(crate) fn for_each_slice(volume: &mut Volume, f: impl Fn(usize, &mut [f32]) + Sync) {
    let [ni, nj, _] = volume.dims();
    let plane = (ni * nj).max(1);
    if volume.data().as_slice().is_none() {
        let standard = volume.data().as_standard_layout().into_owned();
        *volume.data_mut() = standard;
    }
    if let Some(s) = volume.data_mut().as_slice_mut() {
        s.par_chunks_mut(plane)
            .enumerate()
            .for_each(|(k, slice)| f(k, slice));
    }
}

/// Rician noise of a magnitude MR image: `|v + n1 + i n2|` with `n1, n2 ~ N(0, sigma)`.
pub fn add_rician(volume: &mut Volume, sigma: f32, seed: u64, key: &str) {
    let Ok(n) = Normal::new(0.0_f32, sigma.max(0.0)) else {
        return;
    };
    per_slice(volume, seed, key, |rng, v| {
        let re = v + n.sample(rng);
        let im = n.sample(rng);
        re.hypot(im)
    });
}

/// Additive Gaussian noise (CT quantum noise in HU).
pub fn add_gaussian(volume: &mut Volume, sigma: f32, seed: u64, key: &str) {
    let Ok(n) = Normal::new(0.0_f32, sigma.max(0.0)) else {
        return;
    };
    per_slice(volume, seed, key, |rng, v| v + n.sample(rng));
}

/// One Poisson draw with mean `lambda` (0 for a non-positive or non-finite mean).
pub fn poisson_sample(rng: &mut impl Rng, lambda: f64) -> f64 {
    if !(lambda.is_finite() && lambda > 0.0) {
        return 0.0;
    }
    match Poisson::new(lambda) {
        Ok(p) => p.sample(rng),
        Err(_) => 0.0,
    }
}

/// Replace every value of a slice of expected counts by a Poisson draw, seeded by `key`.
pub fn poisson_counts(expected: &mut [f32], seed: u64, key: &str) {
    let mut rng = rng_for(seed, key);
    for v in expected {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "counts of a gamma-camera pixel fit f32 exactly below 2^24"
        )]
        let c = poisson_sample(&mut rng, f64::from(*v)) as f32;
        *v = c;
    }
}

/// A smooth multiplicative bias field: `1 + strength * s(p)` with `s` a sum of three
/// low-frequency cosines (wavelength 250-450 mm) of seeded direction and phase, `|s| <= 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BiasField {
    strength: f64,
    waves: [(DVec3, f64); 3],
}

impl BiasField {
    /// A field of relative amplitude `strength` (e.g. 0.15 for ±15 %).
    pub fn new(strength: f64, seed: u64, key: &str) -> Self {
        let mut waves = [(DVec3::ZERO, 0.0); 3];
        for (n, w) in waves.iter_mut().enumerate() {
            let h = hash64(seed, &format!("{key}/bias/{n}"));
            let a = (h & 0xffff) as f64 / 65535.0 * std::f64::consts::TAU;
            let b = ((h >> 16) & 0xffff) as f64 / 65535.0 * std::f64::consts::PI;
            let phase = ((h >> 32) & 0xffff) as f64 / 65535.0 * std::f64::consts::TAU;
            let wavelength = 250.0 + ((h >> 48) & 0xff) as f64 / 255.0 * 200.0;
            let dir = DVec3::new(b.sin() * a.cos(), b.sin() * a.sin(), b.cos());
            *w = (dir * (std::f64::consts::TAU / wavelength), phase);
        }
        Self { strength, waves }
    }

    /// The multiplicative factor at a patient point.
    pub fn factor(&self, p: DVec3) -> f64 {
        let s: f64 = self
            .waves
            .iter()
            .map(|(k, ph)| (k.dot(p) + ph).cos())
            .sum::<f64>()
            / 3.0;
        1.0 + self.strength * s
    }

    /// Multiply a volume by the field.
    pub fn apply(&self, volume: &mut Volume) {
        let g = *volume.geometry();
        let ni = g.dims[0].max(1);
        for_each_slice(volume, |k, slice| {
            for (n, v) in slice.iter_mut().enumerate() {
                let (j, i) = (n / ni, n % ni);
                let p = g
                    .world_from_voxel
                    .transform_point3(DVec3::new(i as f64, j as f64, k as f64));
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "a factor near 1 times an f32 intensity fits f32"
                )]
                let f = self.factor(p) as f32;
                *v *= f;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csfleak_volume::{Geometry, PointLps, VecLps};

    fn flat(value: f32) -> Volume {
        let g = Geometry::from_dicom(
            [64, 64, 4],
            PointLps([0.0; 3]),
            [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            [1.0, 1.0],
            VecLps([0.0, 0.0, 2.0]),
        )
        .unwrap();
        let mut v = Volume::zeros(g).unwrap();
        v.data_mut().fill(value);
        v
    }

    fn mean_sd(v: &Volume) -> (f64, f64) {
        let n = v.data().len() as f64;
        let m = v.data().iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = v
            .data()
            .iter()
            .map(|&x| (f64::from(x) - m).powi(2))
            .sum::<f64>()
            / n;
        (m, var.sqrt())
    }

    #[test]
    fn gaussian_noise_has_the_requested_sigma_and_is_seeded() {
        let mut a = flat(100.0);
        add_gaussian(&mut a, 10.0, 1, "ct");
        let (m, sd) = mean_sd(&a);
        assert!((m - 100.0).abs() < 0.5, "{m}");
        assert!((sd - 10.0).abs() < 0.5, "{sd}");
        let mut b = flat(100.0);
        add_gaussian(&mut b, 10.0, 1, "ct");
        assert_eq!(a, b);
        let mut c = flat(100.0);
        add_gaussian(&mut c, 10.0, 2, "ct");
        assert_ne!(a, c);
    }

    #[test]
    fn rician_background_is_rayleigh() {
        // Zero signal: mean of a Rayleigh distribution is sigma * sqrt(pi / 2).
        let mut a = flat(0.0);
        add_rician(&mut a, 20.0, 3, "mr");
        let (m, _) = mean_sd(&a);
        let expected = 20.0 * (std::f64::consts::PI / 2.0).sqrt();
        assert!((m - expected).abs() < 0.5, "{m} vs {expected}");
        assert!(a.data().iter().all(|&x| x >= 0.0));
    }

    #[test]
    fn poisson_counts_have_mean_equal_variance() {
        let mut x = vec![50.0_f32; 20_000];
        poisson_counts(&mut x, 4, "nm");
        let n = x.len() as f64;
        let m = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = x.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>() / n;
        assert!((m - 50.0).abs() < 0.3, "{m}");
        assert!((var - 50.0).abs() < 2.5, "{var}");
        assert!(x.iter().all(|v| v.fract() == 0.0));
    }

    #[test]
    fn bias_field_is_bounded_and_smooth() {
        let b = BiasField::new(0.2, 5, "mr");
        for t in 0..100 {
            let p = DVec3::new(f64::from(t) * 3.0, -50.0, 20.0);
            let f = b.factor(p);
            assert!((0.8..=1.2).contains(&f));
            let g = b.factor(p + DVec3::X);
            assert!((f - g).abs() < 0.01);
        }
    }
}
