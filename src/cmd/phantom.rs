//! `csfleak phantom`: write a synthetic DICOM study with ground truth.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

/// Arguments of `csfleak phantom`.
#[derive(Debug, clap::Args)]
pub(crate) struct PhantomArgs {
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
    /// Scenario name (see --list).
    #[arg(long, value_name = "NAME", required_unless_present = "list")]
    scenario: Option<String>,
    /// Output folder (DICOM/ plus truth.json and provenance.json).
    #[arg(long, value_name = "DIR", required_unless_present = "list")]
    out: Option<PathBuf>,
    /// Seed: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Grid size: `full` (scanner-like) or `small` (downsampled, compressed; for samples).
    #[arg(long, default_value = "full", value_parser = ["full", "small"])]
    size: String,
    /// Overwrite a non-empty output folder.
    #[arg(long)]
    force: bool,
}

fn print_list() {
    for s in csfleak_phantom::registry() {
        println!("{:<32} {}", s.name, s.description);
    }
}

pub(crate) fn run(args: PhantomArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        print_list();
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(name), Some(out)) = (args.scenario, args.out) else {
        anyhow::bail!("--scenario and --out are required (or --list)");
    };
    if csfleak_phantom::find(&name).is_err() {
        eprintln!("error: unknown scenario {name:?}; the scenarios are:");
        print_list();
        return Ok(ExitCode::from(2));
    }
    let size = csfleak_phantom::Size::parse(&args.size).unwrap_or_default();
    let options = csfleak_phantom::GenerateOptions::default()
        .with_seed(args.seed)
        .with_size(size)
        .with_force(args.force);
    match csfleak_phantom::generate(&name, &out, &options) {
        Ok(truth) => {
            let n: usize = truth.series.iter().map(|s| s.n_images).sum();
            tracing::info!(
                "wrote scenario {name} (seed {}): {} series, {n} images, truth.json and provenance.json in {}",
                args.seed,
                truth.series.len(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ csfleak_phantom::Error::OutputNotEmpty { .. }) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e).with_context(|| format!("writing scenario {name}")),
    }
}
