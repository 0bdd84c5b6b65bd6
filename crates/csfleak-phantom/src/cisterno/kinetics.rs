//! Tracer kinetics of intrathecal In-111 DTPA: a linear compartment model integrated with RK4.
//!
//! Compartments, in this order: the spinal CSF of each level (cranial first, see
//! [`super::body::SPINE_LEVELS`]), the basal cisterns, the convexity, one extrathecal
//! accumulation per configured leak, blood, kidneys, bladder. Values are fractions of the
//! administered activity **without physical decay** (decay is applied when counts are formed).
//!
//! Transport: upward drift plus mixing between neighbouring levels, basal cisterns fed by C1
//! (with some return), convexity fed by the basal cisterns; absorption to blood mainly at the
//! convexity (arachnoid granulations), a little along the spine; blood cleared by the kidneys
//! (glomerular filtration of DTPA) into the bladder (no voiding).

use serde::{Deserialize, Serialize};

use super::body::SPINE_LEVELS;

/// Rate constants of the kinetic model, per hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Kinetics {
    /// Upward drift between neighbouring spinal levels.
    pub ascent_per_h: f64,
    /// Mixing (both directions) between neighbouring spinal levels.
    pub mixing_per_h: f64,
    /// Return from the basal cisterns to the upper cervical level.
    pub basal_return_per_h: f64,
    /// Basal cisterns to convexity.
    pub basal_to_convexity_per_h: f64,
    /// Basal cisterns to convexity when convexity activity is absent at 24 h.
    pub basal_to_convexity_blocked_per_h: f64,
    /// Convexity to blood (arachnoid granulations).
    pub convexity_absorption_per_h: f64,
    /// Basal cisterns to blood.
    pub basal_absorption_per_h: f64,
    /// Each spinal level to blood.
    pub spinal_absorption_per_h: f64,
    /// Extra absorption from the lumbosacral levels to blood when early bladder activity is on
    /// (an invisible extrathecal route near the puncture).
    pub early_absorption_per_h: f64,
    /// Each leaking spinal level to its extrathecal accumulation.
    pub leak_per_h: f64,
    /// Extrathecal accumulation to blood.
    pub leak_absorption_per_h: f64,
    /// Blood to kidneys (plasma clearance of DTPA).
    pub renal_clearance_per_h: f64,
    /// Kidneys to bladder.
    pub renal_transit_per_h: f64,
}

impl Default for Kinetics {
    fn default() -> Self {
        Self {
            ascent_per_h: 4.5,
            mixing_per_h: 6.0,
            basal_return_per_h: 0.6,
            basal_to_convexity_per_h: 0.25,
            basal_to_convexity_blocked_per_h: 0.01,
            convexity_absorption_per_h: 0.025,
            basal_absorption_per_h: 0.005,
            spinal_absorption_per_h: 0.002,
            early_absorption_per_h: 0.12,
            leak_per_h: 0.35,
            leak_absorption_per_h: 0.15,
            renal_clearance_per_h: 0.46,
            renal_transit_per_h: 4.0,
        }
    }
}

/// Compartment indices of a model with `n_accumulations` leaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) n_accumulations: usize,
}

impl Layout {
    pub(crate) const N_SPINE: usize = SPINE_LEVELS.len();
    pub(crate) const BASAL: usize = Self::N_SPINE;
    pub(crate) const CONVEXITY: usize = Self::N_SPINE + 1;
    pub(crate) fn accumulation(i: usize) -> usize {
        Self::N_SPINE + 2 + i
    }
    pub(crate) fn blood(self) -> usize {
        Self::N_SPINE + 2 + self.n_accumulations
    }
    pub(crate) fn kidneys(self) -> usize {
        self.blood() + 1
    }
    pub(crate) fn bladder(self) -> usize {
        self.blood() + 2
    }
    pub(crate) fn len(self) -> usize {
        self.blood() + 3
    }
    /// Whether a compartment is inside the CSF space (spinal + intracranial).
    pub(crate) fn is_csf(c: usize) -> bool {
        c <= Self::CONVEXITY
    }
}

/// One first-order transfer `from -> to` with a rate per hour.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Transfer {
    from: usize,
    to: usize,
    rate: f64,
}

/// The model ready to integrate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Model {
    pub(crate) layout: Layout,
    transfers: Vec<Transfer>,
    initial: Vec<f64>,
}

/// What shapes the model beyond the rate constants.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ModelSpec<'a> {
    pub(crate) kinetics: &'a Kinetics,
    /// Index of the injection level.
    pub(crate) injection_level: usize,
    pub(crate) early_bladder: bool,
    pub(crate) convexity_blocked: bool,
    /// Level range of each leak.
    pub(crate) leaks: Vec<std::ops::RangeInclusive<usize>>,
    /// Multiplier on every route out of the CSF (absorption and leaks): the knob that sets the
    /// 24-h retention.
    pub(crate) outflow_scale: f64,
}

impl Model {
    pub(crate) fn new(spec: &ModelSpec<'_>) -> Self {
        let k = spec.kinetics;
        let layout = Layout {
            n_accumulations: spec.leaks.len(),
        };
        let s = spec.outflow_scale;
        let mut t = Vec::new();
        let mut add = |from: usize, to: usize, rate: f64| {
            if rate > 0.0 {
                t.push(Transfer { from, to, rate });
            }
        };
        let n = Layout::N_SPINE;
        // Spinal levels: index 0 is C1 (cranial); "up" is towards lower indices.
        for i in 1..n {
            add(i, i - 1, k.ascent_per_h + k.mixing_per_h);
            add(i - 1, i, k.mixing_per_h);
        }
        add(0, Layout::BASAL, k.ascent_per_h + k.mixing_per_h);
        add(Layout::BASAL, 0, k.basal_return_per_h);
        let to_convexity = if spec.convexity_blocked {
            k.basal_to_convexity_blocked_per_h
        } else {
            k.basal_to_convexity_per_h
        };
        add(Layout::BASAL, Layout::CONVEXITY, to_convexity);
        add(
            Layout::CONVEXITY,
            layout.blood(),
            s * k.convexity_absorption_per_h,
        );
        add(Layout::BASAL, layout.blood(), s * k.basal_absorption_per_h);
        for i in 0..n {
            add(i, layout.blood(), s * k.spinal_absorption_per_h);
        }
        if spec.early_bladder {
            // Lumbosacral levels (L1..S1).
            for i in (n - 6)..n {
                add(i, layout.blood(), s * k.early_absorption_per_h);
            }
        }
        for (a, levels) in spec.leaks.iter().enumerate() {
            for i in levels.clone() {
                add(i, Layout::accumulation(a), s * k.leak_per_h);
            }
            add(
                Layout::accumulation(a),
                layout.blood(),
                k.leak_absorption_per_h,
            );
        }
        add(layout.blood(), layout.kidneys(), k.renal_clearance_per_h);
        add(layout.kidneys(), layout.bladder(), k.renal_transit_per_h);

        let mut initial = vec![0.0; layout.len()];
        // The injected bolus spreads over the puncture level and its neighbours.
        let inj = spec.injection_level.min(n - 1);
        let spread = [
            (inj.saturating_sub(1), 0.25),
            (inj, 0.5),
            ((inj + 1).min(n - 1), 0.25),
        ];
        for (i, w) in spread {
            initial[i] += w;
        }
        Self {
            layout,
            transfers: t,
            initial,
        }
    }

    fn derivative(&self, x: &[f64], dx: &mut [f64]) {
        dx.fill(0.0);
        for tr in &self.transfers {
            let f = tr.rate * x[tr.from];
            dx[tr.from] -= f;
            dx[tr.to] += f;
        }
    }

    /// Compartment contents at each of `times_h` (sorted ascending, non-negative).
    pub(crate) fn solve(&self, times_h: &[f64]) -> Vec<Vec<f64>> {
        const MAX_STEP_H: f64 = 0.01;
        let n = self.layout.len();
        let mut x = self.initial.clone();
        let mut t = 0.0;
        let mut out = Vec::new();
        let (mut k1, mut k2, mut k3, mut k4) =
            (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut tmp = vec![0.0; n];
        for &target in times_h {
            let span = (target - t).max(0.0);
            let steps = (span / MAX_STEP_H).ceil().max(1.0);
            let h = span / steps;
            let mut remaining = steps;
            while remaining > 0.5 && h > 0.0 {
                self.derivative(&x, &mut k1);
                for i in 0..n {
                    tmp[i] = x[i] + 0.5 * h * k1[i];
                }
                self.derivative(&tmp, &mut k2);
                for i in 0..n {
                    tmp[i] = x[i] + 0.5 * h * k2[i];
                }
                self.derivative(&tmp, &mut k3);
                for i in 0..n {
                    tmp[i] = x[i] + h * k3[i];
                }
                self.derivative(&tmp, &mut k4);
                for i in 0..n {
                    x[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
                }
                remaining -= 1.0;
            }
            t = t.max(target);
            out.push(x.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(k: &Kinetics) -> ModelSpec<'_> {
        ModelSpec {
            kinetics: k,
            injection_level: 21,
            early_bladder: false,
            convexity_blocked: false,
            leaks: vec![],
            outflow_scale: 1.0,
        }
    }

    #[test]
    fn activity_is_conserved_and_ascends() {
        let k = Kinetics::default();
        let m = Model::new(&spec(&k));
        let xs = m.solve(&[0.0, 1.0, 3.0, 6.0, 24.0]);
        for x in &xs {
            let total: f64 = x.iter().sum();
            assert!((total - 1.0).abs() < 1e-9, "total {total}");
        }
        let l = m.layout;
        // Intracranial activity rises over the first 6 h; the convexity dominates at 24 h.
        let head = |x: &Vec<f64>| x[Layout::BASAL] + x[Layout::CONVEXITY];
        assert!(head(&xs[1]) < head(&xs[2]) && head(&xs[2]) < head(&xs[3]));
        assert!(xs[4][Layout::CONVEXITY] > xs[4][Layout::BASAL]);
        // Bladder stays small before 3 h in a normal study.
        assert!(xs[2][l.bladder()] < 0.01);
        assert!(xs[4][l.bladder()] > 0.1);
    }

    #[test]
    fn outflow_scale_lowers_retention() {
        let k = Kinetics::default();
        let mut s = spec(&k);
        let csf = |m: &Model| {
            let x = m.solve(&[24.0]).remove(0);
            (0..=Layout::CONVEXITY).map(|c| x[c]).sum::<f64>()
        };
        let a = csf(&Model::new(&s));
        s.outflow_scale = 3.0;
        let b = csf(&Model::new(&s));
        assert!(b < a);
    }
}
