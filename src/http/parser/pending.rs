//! Pairing responses with requests: the requests of a connection waiting for their answers, in
//! the order sent (pipelining), and what a capture gap in the response direction does to them.

use crate::types::Dir;
use std::collections::VecDeque;

/// A request waiting for its response.
#[derive(Clone, Debug)]
pub(crate) struct PendingRequest {
    pub(super) dir: Dir,
    pub(super) index: u32,
    pub(super) method: String,
    /// The capture lost bytes of the response direction (framing lost) while this request
    /// waited: its response may have been among them.
    pub(super) maybe_answered_in_gap: bool,
}

/// Requests of a connection in the order sent, answered first-in first-out (pipelining).
#[derive(Debug, Default)]
pub(crate) struct PendingRequests {
    queue: VecDeque<PendingRequest>,
}

impl PendingRequests {
    /// Queues a request; when `cap` requests already wait, the oldest is given up. Returns
    /// whether one was.
    pub(super) fn push(&mut self, req: PendingRequest, cap: usize) -> bool {
        if cap == 0 {
            return false;
        }
        let mut gave_up = false;
        while self.queue.len() >= cap {
            gave_up |= self.queue.pop_front().is_some();
        }
        self.queue.push_back(req);
        gave_up
    }

    /// The oldest request sent in the direction opposite to a response travelling in `dir`.
    pub(super) fn front_for(&self, response_dir: Dir) -> Option<&PendingRequest> {
        self.queue.front().filter(|r| r.dir != response_dir)
    }

    pub(super) fn pop_for(&mut self, response_dir: Dir) -> Option<PendingRequest> {
        self.front_for(response_dir)?;
        self.queue.pop_front()
    }

    /// A response travelling in `response_dir` may have been lost: every request now waiting
    /// for one may have been answered.
    pub(super) fn mark_gap(&mut self, response_dir: Dir) {
        for req in self.queue.iter_mut().filter(|r| r.dir != response_dir) {
            req.maybe_answered_in_gap = true;
        }
    }

    /// Before pairing a response: requests whose response was probably lost in a gap are given
    /// up, as long as a request sent after the gap still waits (keep-alive without
    /// pipelining; with pipelining the loss cannot be placed and FIFO order is kept).
    pub(super) fn drop_lost_answers(&mut self, response_dir: Dir) {
        let waiting_after_gap = self
            .queue
            .iter()
            .any(|r| r.dir != response_dir && !r.maybe_answered_in_gap);
        if !waiting_after_gap {
            return;
        }
        while self
            .front_for(response_dir)
            .is_some_and(|r| r.maybe_answered_in_gap)
        {
            self.queue.pop_front();
        }
    }
}
