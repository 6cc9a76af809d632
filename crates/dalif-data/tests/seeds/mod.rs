//! Valid files to mutate, and a repair that lets mutations past a checksum: shared by the
//! property tests here and by the coverage-guided targets of `fuzz/`, which include this file.

/// A `.tar.gz` holding `files` (name, bytes), as the CIFAR archives are packed.
pub fn targz(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::best(),
    ));
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// An IDX file of unsigned bytes (MNIST's format): magic `00 00 08 <dims>`, each dimension
/// as a big-endian u32, then `data`.
pub fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

/// `bytes` gzipped, as MNIST's files are downloaded.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A CIFAR class-name file of `n` classes.
pub fn names(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| format!("class{i}\n"))
        .collect::<String>()
        .into_bytes()
}

/// Recomputes the CRC of every complete chunk of a PNG, so that mutations reach the decoder
/// instead of stopping at the checksum. Not a PNG: left alone.
pub fn fix_png_crcs(bytes: &mut [u8]) {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return;
    }
    let mut pos = 8;
    while pos + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let Some(end) = (pos + 8).checked_add(len).filter(|&e| e + 4 <= bytes.len()) else {
            return;
        };
        let mut crc = flate2::Crc::new();
        crc.update(&bytes[pos + 4..end]);
        bytes[end..end + 4].copy_from_slice(&crc.sum().to_be_bytes());
        pos = end + 4;
    }
}
