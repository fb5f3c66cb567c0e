//! Replays every seed and every saved regression input through its target, on stable and
//! without libFuzzer, and keeps the seed files in step with their generator.

use std::fs;
use std::path::{Path, PathBuf};

use dpop_fuzz::{
    FEATURE_TARGETS, TARGETS, authorization_header, create_verify, nonce_validate, proof_claims,
    proof_verify, seeds,
};

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `dir/<target>/`, for each target directory there.
fn inputs(dir: &Path) -> Vec<(String, PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let Ok(targets) = fs::read_dir(dir) else {
        return found;
    };
    for target in targets {
        let target = target.unwrap();
        if !target.file_type().unwrap().is_dir() {
            continue;
        }
        let name = target.file_name().into_string().unwrap();
        for file in fs::read_dir(target.path()).unwrap() {
            let path = file.unwrap().path();
            if path.is_file() {
                let data = fs::read(&path).unwrap();
                found.push((name.clone(), path, data));
            }
        }
    }
    found.sort();
    found
}

fn entry_point(target: &str) -> Option<fn(&[u8])> {
    match TARGETS.iter().find(|(name, _)| *name == target) {
        Some((_, run)) => Some(*run),
        // Built only with a feature of this package (`--features jwt`).
        None if FEATURE_TARGETS.contains(&target) => None,
        None => panic!("no target named {target}"),
    }
}

/// Every seed, every saved crash input and every input the long runs found runs through its
/// target without a panic. A regression input keeps failing here until the bug it found is
/// fixed.
#[test]
fn seeds_and_regressions_replay() {
    let mut count = 0;
    for dir in ["seeds", "regressions", "found"] {
        for (target, path, data) in inputs(&fuzz_dir().join(dir)) {
            let Some(run) = entry_point(&target) else {
                continue;
            };
            eprintln!("{}", path.display());
            run(&data);
            count += 1;
        }
    }
    assert!(count > 0, "no seeds found");
}

/// The seed files are exactly what `dpop_fuzz::seeds::all` generates; with
/// `DPOP_FUZZ_WRITE_SEEDS=1`, (re)writes them instead.
#[test]
fn seeds_are_generated() {
    let seeds = seeds::all();
    let root = fuzz_dir().join("seeds");
    if std::env::var_os("DPOP_FUZZ_WRITE_SEEDS").is_some() {
        let _ = fs::remove_dir_all(&root);
        for seed in &seeds {
            let dir = root.join(seed.target);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join(&seed.name), &seed.data).unwrap();
        }
    }
    let on_disk = inputs(&root);
    assert_eq!(
        on_disk.len(),
        seeds.len(),
        "seed count; regenerate the seeds"
    );
    for seed in &seeds {
        let path = root.join(seed.target).join(&seed.name);
        let data = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            data == seed.data,
            "{} is stale; regenerate the seeds",
            path.display()
        );
    }
    for (target, _, _) in &on_disk {
        entry_point(target);
    }
}

/// The seeds reach where they are meant to: past the signature, to a verified proof.
#[test]
fn seeds_reach_acceptance() {
    for seed in seeds::all() {
        let ok = match seed.target {
            "proof_verify" => proof_verify::accepted(&seed.data),
            "proof_claims" => proof_claims::verifies(&seed.data),
            "create_verify" => create_verify::created(&seed.data).is_some(),
            "nonce_validate" => nonce_validate::accepted(&seed.data) > 0,
            "authorization_header" if seed.name.contains("dpop") => {
                authorization_header::accepted(&seed.data) > 0
            }
            _ => continue,
        };
        assert!(ok, "seed {}/{} is not accepted", seed.target, seed.name);
    }
    let mut buf = [0u8; dpop_core::consts::MAX_URI_LEN];
    assert!(seeds::htu_table_inputs().len() > 50, "htu table not found");
    assert!(
        seeds::htu_table_inputs()
            .iter()
            .any(|uri| dpop_core::canonicalize_uri(uri, &mut buf).is_ok())
    );
}
