//! What `weft-configtx` leaves on disk for others on the host: its private
//! keys are readable only by their owner.

#[cfg(unix)]
#[test]
fn cryptogen_writes_private_keys_readable_only_by_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let out = tempfile::tempdir().unwrap();
    let samples = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples");
    let spec = weft_configtx::cryptogen::load_config(&samples.join("crypto-config.yaml")).unwrap();
    weft_configtx::cryptogen::generate(&spec, out.path(), weft_common::pki::KeyType::EcdsaP256)
        .unwrap();
    let mut keys = 0;
    let mut stack = vec![out.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with("_sk") || name.ends_with(".key") {
                assert_eq!(mode(&p), 0o600, "{}", p.display());
                assert_eq!(mode(&dir), 0o700, "{}", dir.display());
                keys += 1;
            }
        }
    }
    assert!(keys > 10, "found {keys} keys");
}
