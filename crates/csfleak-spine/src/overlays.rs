//! Overlay descriptions of a spinal MRI analysis (rendered by `csfleak-report`): a sagittal
//! overview reformatted along the canal from the axial stack, with the collections outlined
//! and the levels labelled, and axial key slices with the sac and the extradural fluid.

use csfleak_volume::overlay::{Overlay, OverlayLine, OverlayMask, OverlayText, colors};
use csfleak_volume::{DVec3, Volume};
use ndarray::{Array2, Axis};

use crate::mri::{Lesion, MriAnalysis};

/// Half-width of the sagittal reformat, mm either side of the sac centre (anterior-posterior).
const HALF_AP_MM: f64 = 35.0;
/// Step of the reformat along the AP line (mm).
const AP_STEP_MM: f64 = 0.5;

impl MriAnalysis {
    /// The overlays of this analysis on the axial T2 it was made on: the sagittal overview
    /// first, then one axial key slice per collection and per mimic (in that order). Names are
    /// `spine_sagittal_overview`, `spine_collection{n}_k{k}` and `spine_mimic{n}_k{k}`.
    pub fn overlays(&self, t2: &Volume) -> Vec<Overlay> {
        let mut out = Vec::new();
        if let Some(o) = self.sagittal_overview(t2) {
            out.push(o);
        }
        for (i, l) in self.collections.iter().enumerate() {
            let name = format!("spine_collection{}_k{:03}", i + 1, l.key_slice);
            let title = format!(
                "Spinal MRI: extradural fluid {} ({}), slice {}",
                i + 1,
                describe(l),
                l.key_slice + 1
            );
            if let Some(o) = self.axial_overlay(t2, l, name, title, colors::FINDING) {
                out.push(o);
            }
        }
        for (i, l) in self.mimics.iter().enumerate() {
            let name = format!("spine_mimic{}_k{:03}", i + 1, l.key_slice);
            let kind = l
                .mimic
                .map_or_else(|| "mimic".to_owned(), |m| format!("{m:?}").to_lowercase());
            let title = format!(
                "Spinal MRI: excluded {kind}, slice {} (not counted as extradural CSF)",
                l.key_slice + 1
            );
            if let Some(o) = self.axial_overlay(t2, l, name, title, colors::MIMIC) {
                out.push(o);
            }
        }
        out
    }

    fn axial_overlay(
        &self,
        t2: &Volume,
        l: &Lesion,
        name: String,
        title: String,
        color: [u8; 3],
    ) -> Option<Overlay> {
        let k = l.key_slice;
        let nk = t2.dims()[2];
        if k >= nk {
            return None;
        }
        let base = t2.data().index_axis(Axis(0), k).to_owned();
        let window = Overlay::auto_window(&base);
        let mut o = Overlay::new(name, title, base, window);
        let sp = t2.geometry().spacing_mm();
        o.pixel_spacing_mm = Some([sp[1], sp[0]]);
        o.orientation_note = format!("axial T2 slice {} of {nk}, as stored", k + 1);
        let sl = self.canal.slices.get(k).filter(|s| s.found)?;
        o.masks.push(OverlayMask {
            mask: sl.sac.clone(),
            color: colors::SAC,
            label: "dural sac".to_owned(),
            outline_only: true,
        });
        let (nr, nc) = sl.sac.dim();
        let mut m = Array2::from_elem((nr, nc), false);
        for &(kk, r, c) in &l.pixels {
            if kk == k && r < nr && c < nc {
                m[[r, c]] = true;
            }
        }
        o.masks.push(OverlayMask {
            mask: m,
            color,
            label: if l.mimic.is_some() {
                "excluded mimic".to_owned()
            } else {
                "extradural fluid".to_owned()
            },
            outline_only: false,
        });
        if !sl.bridge.is_empty() && l.continuity_slice == Some(k) {
            let mut g = Array2::from_elem((nr, nc), false);
            for &(r, c) in &sl.bridge {
                if r < nr && c < nc {
                    g[[r, c]] = true;
                }
            }
            o.masks.push(OverlayMask {
                mask: g,
                color: colors::REFERENCE,
                label: "dural gap (continuity)".to_owned(),
                outline_only: false,
            });
        }
        let level = self
            .levels
            .level_at(sl.centre.0[2])
            .map_or_else(|| format!("z {:.0} mm", sl.centre.0[2]), |l| l.to_string());
        o.texts.push(OverlayText {
            at: [4.0, 4.0],
            text: level,
            color: colors::LABEL,
        });
        Some(o)
    }

    /// A sagittal reformat along the canal: row = slice (cranial at the top), column = position
    /// on the anterior-posterior line through the sac centre (anterior on the left).
    fn sagittal_overview(&self, t2: &Volume) -> Option<Overlay> {
        let g = t2.geometry();
        let vfw = g.voxel_from_world();
        let mut ks: Vec<usize> = (0..self.canal.slices.len()).collect();
        // Cranial first.
        ks.sort_by(|a, b| {
            self.canal.slices[*b].centre.0[2].total_cmp(&self.canal.slices[*a].centre.0[2])
        });
        ks.retain(|&k| self.canal.slices[k].found);
        if ks.len() < 2 {
            return None;
        }
        let ncol = csfleak_volume::index_of((2.0 * HALF_AP_MM / AP_STEP_MM).round())? + 1;
        let nrow = ks.len();
        let mut base = Array2::<f32>::zeros((nrow, ncol));
        let mut fluid = Array2::from_elem((nrow, ncol), false);
        let mut mimic = Array2::from_elem((nrow, ncol), false);
        let mut sac = Array2::from_elem((nrow, ncol), false);
        let ant = DVec3::NEG_Y;
        let col_of = |p: DVec3, centre: DVec3| {
            let a = (p - centre).dot(ant);
            csfleak_volume::index_of(((HALF_AP_MM - a) / AP_STEP_MM).round())
        };
        for (row, &k) in ks.iter().enumerate() {
            let sl = &self.canal.slices[k];
            let centre = sl.centre.to_dvec3();
            for c in 0..ncol {
                let a = HALF_AP_MM - c as f64 * AP_STEP_MM;
                let p = centre + ant * a;
                let v = vfw.transform_point3(p);
                let vox = DVec3::new(v.x, v.y, k as f64);
                base[[row, c]] = t2.sample_voxel(vox).unwrap_or(0.0);
                if let (Some(r), Some(cc)) = (
                    csfleak_volume::index_of(vox.y.round()),
                    csfleak_volume::index_of(vox.x.round()),
                ) {
                    sac[[row, c]] = sl.sac.get([r, cc]).copied().unwrap_or(false);
                }
            }
            // Lesion pixels of this slice projected on the AP line.
            for (lesions, mask) in [(&self.collections, &mut fluid), (&self.mimics, &mut mimic)] {
                for l in lesions {
                    for &(kk, r, c) in &l.pixels {
                        if kk != k {
                            continue;
                        }
                        let p = g
                            .world_from_voxel
                            .transform_point3(DVec3::new(c as f64, r as f64, k as f64));
                        if let Some(cc) = col_of(p, centre).filter(|&cc| cc < ncol) {
                            mask[[row, cc]] = true;
                        }
                    }
                }
            }
        }
        let window = Overlay::auto_window(&base);
        let mut o = Overlay::new(
            "spine_sagittal_overview",
            "Spinal MRI: sagittal overview along the canal (reformatted from the axial T2)",
            base,
            window,
        );
        let step = g.spacing_mm()[2];
        o.pixel_spacing_mm = Some([step, AP_STEP_MM]);
        o.orientation_note = String::from(
            "rows: axial slices, cranial at the top; columns: anterior (left) to posterior \
             (right) through the sac centre",
        );
        o.masks.push(OverlayMask {
            mask: sac,
            color: colors::SAC,
            label: "dural sac".to_owned(),
            outline_only: true,
        });
        if fluid.iter().any(|&x| x) {
            o.masks.push(OverlayMask {
                mask: fluid,
                color: colors::FINDING,
                label: "extradural fluid".to_owned(),
                outline_only: false,
            });
        }
        if mimic.iter().any(|&x| x) {
            o.masks.push(OverlayMask {
                mask: mimic,
                color: colors::MIMIC,
                label: "excluded mimic".to_owned(),
                outline_only: false,
            });
        }
        // Level labels at the rows nearest to each labelled landmark; mm positions otherwise.
        let row_of_z = |z: f64| {
            ks.iter()
                .enumerate()
                .min_by(|a, b| {
                    (self.canal.slices[*a.1].centre.0[2] - z)
                        .abs()
                        .total_cmp(&(self.canal.slices[*b.1].centre.0[2] - z).abs())
                })
                .map(|(i, _)| i as f64)
        };
        let landmarks = self.levels.landmarks();
        if landmarks.is_empty() {
            for (i, &k) in ks.iter().enumerate().step_by(10) {
                o.texts.push(OverlayText {
                    at: [i as f64, 1.0],
                    text: format!("z {:.0}", self.canal.slices[k].centre.0[2]),
                    color: colors::LABEL,
                });
            }
        } else {
            for (z, level) in landmarks {
                if let Some(r) = row_of_z(z) {
                    o.texts.push(OverlayText {
                        at: [r, 1.0],
                        text: level.to_string(),
                        color: colors::LABEL,
                    });
                    o.lines.push(OverlayLine {
                        from: [r, 0.0],
                        to: [r, 6.0],
                        color: colors::REFERENCE,
                        label: String::new(),
                    });
                }
            }
        }
        Some(o)
    }
}

fn describe(l: &Lesion) -> String {
    format!(
        "{:?}, {:.1} mm thick, {:.0} mm long, {:.2} mL",
        l.position, l.max_thickness_mm, l.extent_mm, l.volume_ml
    )
    .to_lowercase()
}
