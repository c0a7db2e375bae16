//! Builds the breached-password filter shipped in `data/breached/` (`filter.bin` and
//! `manifest.json`) from plain-text password lists, one password per line (see
//! `data/breached/README.md` for where the shipped lists come from).
//!
//!     cargo run --release --example breach_filter -- \
//!         --out data/breached --data-date 2025-02-19 \
//!         --source "zxcvbn 4.5.0 (PyPI) ..." --licence MIT LIST...

use std::path::PathBuf;
use std::process::ExitCode;

use watchword::risk::breach::filter;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("breach_filter: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut out = PathBuf::from("data/breached");
    let (mut date, mut source, mut licence) = (None, None, None);
    let mut lists = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--out" => out = PathBuf::from(value()?),
            "--data-date" => date = Some(value()?),
            "--source" => source = Some(value()?),
            "--licence" => licence = Some(value()?),
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}")),
            _ => lists.push(PathBuf::from(arg)),
        }
    }
    let date = date.ok_or("--data-date YYYY-MM-DD is required")?;
    let source = source.ok_or("--source is required")?;
    let licence = licence.ok_or("--licence is required")?;
    if lists.is_empty() {
        return Err("no password list given".into());
    }
    let mut texts = Vec::new();
    for list in &lists {
        texts.push(std::fs::read_to_string(list).map_err(|e| format!("{}: {e}", list.display()))?);
    }
    let passwords = texts
        .iter()
        .flat_map(|t| t.lines())
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty());
    let (bytes, entries) = filter::build(passwords)?;
    let manifest = filter::manifest_for(&bytes, entries, &source, &licence, &date);
    if manifest.data_timestamp().is_none() {
        return Err(format!("--data-date {date:?} is not YYYY-MM-DD"));
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())? + "\n";
    std::fs::write(out.join("filter.bin"), &bytes).map_err(|e| e.to_string())?;
    std::fs::write(out.join("manifest.json"), json).map_err(|e| e.to_string())?;
    println!(
        "{} entries, {} bytes, sha256 {}",
        entries,
        bytes.len(),
        manifest.filter_sha256
    );
    Ok(())
}
