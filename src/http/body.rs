//! Message bodies: the chunked transfer coding (an incremental decoder) and bounded body storage
//! that undoes gzip/deflate Content-Encoding without ever holding more than the storage limit,
//! and the SHA-256 of file bodies (on the reading thread or a hashing thread).

mod chunked;
mod digest;
mod store;

pub use chunked::{
    ChunkError, ChunkProgress, ChunkStatus, ChunkedDecoder, MAX_CHUNK_LINE, MAX_TRAILERS,
};
pub use digest::{
    BATCHES_IN_FLIGHT as DIGEST_BATCHES_IN_FLIGHT, DigestBatch, DigestQueue, DigestResults,
    DigestTicket, Digested, run_hasher,
};
pub use store::{BodyDigest, BodyStore, ContentCoding};

#[cfg(test)]
mod tests;
