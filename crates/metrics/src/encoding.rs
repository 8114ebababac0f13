//! The one encoding of a histogram: HdrHistogram V2 deflate, with the header's highest trackable
//! value fixed at [`LATENCY_MAX_US`] whatever the histogram in memory was sized to.
//!
//! Histograms grow to the largest value they have seen, so their in-memory bound depends on the
//! order in which values were recorded and histograms added. The encoded counts do not (a value
//! has the same index at any size), but the header would. Writing the fixed bound there makes
//! the bytes a function of the values alone, so `stampede report` rebuilds every file byte for
//! byte, and they are the very bytes the fixed-size histograms of earlier versions wrote.

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use hdrhistogram::serialization::{Serializer, V2SerializeError, V2Serializer};
use hdrhistogram::{Counter, Histogram};

use crate::LATENCY_MAX_US;

/// HdrHistogram's cookie of a V2 deflate-compressed histogram.
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;

/// Where the V2 header keeps the highest trackable value (after cookie, length, normalising
/// offset, significant digits and lowest discernible value).
const HIGHEST_AT: std::ops::Range<usize> = 24..32;

/// A V2 deflate serializer whose output depends on the recorded values only. Usable wherever
/// HdrHistogram takes a [`Serializer`] (the interval log writer). Keep one: it reuses its
/// buffers and its compressor, whose state alone is a few hundred kilobytes to allocate.
pub struct CanonicalSerializer {
    v2: V2Serializer,
    plain: Vec<u8>,
    /// Compresses into its own buffer; a fresh stream is started for every histogram.
    zlib: ZlibEncoder<Vec<u8>>,
}

impl Default for CanonicalSerializer {
    fn default() -> Self {
        CanonicalSerializer {
            v2: V2Serializer::new(),
            plain: Vec::new(),
            zlib: ZlibEncoder::new(Vec::new(), Compression::default()),
        }
    }
}

impl CanonicalSerializer {
    pub fn new() -> CanonicalSerializer {
        CanonicalSerializer::default()
    }
}

impl Serializer for CanonicalSerializer {
    type SerializeError = std::io::Error;

    fn serialize<T: Counter, W: Write>(
        &mut self,
        h: &Histogram<T>,
        writer: &mut W,
    ) -> std::io::Result<usize> {
        self.plain.clear();
        self.v2
            .serialize(h, &mut self.plain)
            .map_err(|err: V2SerializeError| std::io::Error::other(format!("{err:?}")))?;
        if let Some(highest) = self.plain.get_mut(HIGHEST_AT) {
            highest.copy_from_slice(&LATENCY_MAX_US.to_be_bytes());
        }
        // The same framing and compression as hdrhistogram's V2DeflateSerializer.
        let out = self.zlib.get_mut();
        out.clear();
        out.extend_from_slice(&V2_COMPRESSED_COOKIE.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        self.zlib.write_all(&self.plain)?;
        self.zlib.try_finish()?;
        let out = self.zlib.get_mut();
        let length = u32::try_from(out.len() - 8).unwrap_or(u32::MAX);
        out[4..8].copy_from_slice(&length.to_be_bytes());
        writer.write_all(out)?;
        let written = out.len();
        // A fresh stream for the next histogram, into the same buffer: the first reset hands
        // the buffer back, the second finishes the placeholder's (empty) stream and puts it in.
        let buffer = self.zlib.reset(Vec::new())?;
        self.zlib.reset(buffer)?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::V2DeflateSerializer;

    #[test]
    fn a_fixed_size_histogram_encodes_as_hdrhistogram_itself_does() {
        let mut fixed = Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_US, 3).unwrap();
        for us in 0..3000 {
            fixed.record(40 + us * 37).unwrap();
        }
        let mut small = Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_US, 2).unwrap();
        small.record(1_234).unwrap();
        // One serializer for all, as the interval log keeps one: each encoding stands alone.
        let mut serializer = CanonicalSerializer::new();
        for histogram in [&fixed, &small, &fixed] {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            serializer.serialize(histogram, &mut ours).unwrap();
            V2DeflateSerializer::new()
                .serialize(histogram, &mut theirs)
                .unwrap();
            assert_eq!(ours, theirs);
        }
    }
}
