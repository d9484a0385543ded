//! The guest's allocator in WASM: a bump allocator over the instance's
//! linear memory.
//!
//! The peer runs every invocation in a fresh instance and throws it away
//! afterwards, so memory never needs to be reused across invocations. Bumping
//! a pointer is the cheapest allocator there is. It starts in the initial
//! memory the chaincode is linked with, which the peer keeps resident between
//! instances, and so it avoids the `memory.grow` page faults a general-purpose
//! allocator pays on every invocation.
//! The most recent allocation can be freed or resized in place (vectors and
//! strings growing, temporaries dropped at once). Everything else is freed
//! when the instance ends. An invocation's allocations therefore count in
//! full against the peer's memory limit.
//!
//! Chaincode that wants another allocator turns off the SDK's default
//! `bump-alloc` feature and sets its own `#[global_allocator]`.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::ptr::null_mut;

const PAGE: usize = 65_536;

unsafe extern "C" {
    /// The first byte after the stack and data, placed by the linker.
    static __heap_base: u8;
}

/// A bump allocator (see the module docs).
pub struct BumpAllocator {
    next: Cell<usize>,
}

// SAFETY: chaincode instances are single-threaded. weft's engine has no
// threads, and one instance serves one invocation.
unsafe impl Sync for BumpAllocator {}

impl BumpAllocator {
    /// An allocator that starts at `__heap_base` on first use.
    pub const fn new() -> Self {
        Self { next: Cell::new(0) }
    }

    fn next(&self) -> usize {
        match self.next.get() {
            0 => core::ptr::addr_of!(__heap_base) as usize,
            n => n,
        }
    }

    /// Makes sure memory reaches `end`, growing it if need be.
    fn reserve(end: usize) -> bool {
        let have = core::arch::wasm32::memory_size(0) * PAGE;
        end <= have || core::arch::wasm32::memory_grow(0, (end - have).div_ceil(PAGE)) != usize::MAX
    }
}

impl Default for BumpAllocator {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every block returned is inside linear memory (reserved before it
// is handed out), aligned as asked, and never overlaps a live block: the
// pointer only moves back over the most recent block when that block is freed
// or resized.
unsafe impl GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let start = (self.next() + layout.align() - 1) & !(layout.align() - 1);
        let Some(end) = start.checked_add(layout.size()) else {
            return null_mut();
        };
        if !Self::reserve(end) {
            return null_mut();
        }
        self.next.set(end);
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize + layout.size() == self.next() {
            self.next.set(ptr as usize);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let at = ptr as usize;
        if at + layout.size() == self.next() {
            let Some(end) = at.checked_add(new_size) else {
                return null_mut();
            };
            if !Self::reserve(end) {
                return null_mut();
            }
            self.next.set(end);
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: the caller guarantees `layout` describes `ptr`; the new
        // block is distinct and at least `layout.size()` long.
        unsafe {
            let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size());
            }
            new
        }
    }
}
