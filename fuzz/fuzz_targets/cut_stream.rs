//! Arbitrary text compressed with each codec swgpu reads, then cut short: reading it must give
//! a prefix of the records the whole stream gives, then an error naming the file; never a
//! clean end (a cut stream once read as "zero records", or lost its last records).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::Path;
use swgpu::io::FastxReader;

/// Every record `bytes` gives, and whether it ended in an error.
fn read(bytes: &[u8]) -> (Vec<swgpu::Record>, bool) {
    let Ok(mut reader) = FastxReader::from_reader(Path::new("cut.gz"), std::io::Cursor::new(bytes.to_vec()), None)
    else {
        return (Vec::new(), true);
    };
    let mut records = Vec::new();
    loop {
        match reader.next_record() {
            Some(Ok(r)) => records.push(r),
            Some(Err(e)) => {
                assert!(e.to_string().starts_with("cut.gz"), "{e}");
                return (records, true);
            }
            None => return (records, false),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [codec, cut, text @ ..] = data else { return };
    let compressed = match codec % 4 {
        0 => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        1 => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        2 => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        _ => zstd::encode_all(text, 1).unwrap(),
    };
    let (whole, _) = read(&compressed);
    let at = compressed.len() * usize::from(*cut) / 256;
    let (prefix, failed) = read(&compressed[..at]);
    assert!(
        failed,
        "a stream cut at {at} of {} bytes ended cleanly",
        compressed.len()
    );
    assert!(prefix.len() <= whole.len() && prefix[..] == whole[..prefix.len()]);
});
