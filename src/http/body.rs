//! Message bodies: the chunked transfer coding (an incremental decoder) and bounded body storage
//! that undoes gzip/deflate Content-Encoding without ever holding more than the storage limit.

mod chunked;
mod store;

pub use chunked::{
    ChunkError, ChunkProgress, ChunkStatus, ChunkedDecoder, MAX_CHUNK_LINE, MAX_TRAILERS,
};
pub use store::{BodyDigest, BodyStore, ContentCoding};

#[cfg(test)]
mod tests;
