//! Physical memory bookkeeping for the kernel's heap: which parts of RAM are free once the kernel
//! image, the device tree, the initrd and firmware reservations are taken out.
//!
//! It runs before the heap exists, so it allocates nothing: the caller passes the reserved ranges
//! in a mutable slice (sorted in place) and receives the free ranges through a callback. It lives
//! here rather than in `qemu/` so it is tested on the host.

/// A half-open range of physical addresses `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    /// The range `[start, start + size)`, saturating at the top of the address space.
    pub const fn with_size(start: u64, size: u64) -> Self {
        Range {
            start,
            end: start.saturating_add(size),
        }
    }

    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The largest sub-range whose ends are multiples of `align` (a power of two).
    pub fn shrink_to_alignment(&self, align: u64) -> Range {
        let mask = align.max(1) - 1;
        let start = self.start.saturating_add(mask) & !mask;
        let end = self.end & !mask;
        if end > start {
            Range { start, end }
        } else {
            Range::default()
        }
    }
}

/// Calls `free` with each part of each `ram` range not covered by any `reserved` range, in
/// address order within each RAM range, aligned inward to `align` and skipping parts smaller than
/// `min_len`. `reserved` is sorted in place; empty and overlapping reservations are fine.
pub fn for_each_free(
    ram: &[Range],
    reserved: &mut [Range],
    align: u64,
    min_len: u64,
    mut free: impl FnMut(Range),
) {
    reserved.sort_unstable_by_key(|r| r.start);
    for region in ram {
        let mut cursor = region.start;
        for r in reserved.iter().filter(|r| !r.is_empty()) {
            if r.end <= cursor || r.start >= region.end {
                continue;
            }
            emit(
                Range {
                    start: cursor,
                    end: r.start.min(region.end),
                },
                align,
                min_len,
                &mut free,
            );
            cursor = cursor.max(r.end);
            if cursor >= region.end {
                break;
            }
        }
        emit(
            Range {
                start: cursor,
                end: region.end,
            },
            align,
            min_len,
            &mut free,
        );
    }
}

fn emit(range: Range, align: u64, min_len: u64, free: &mut impl FnMut(Range)) {
    let aligned = range.shrink_to_alignment(align);
    if !aligned.is_empty() && aligned.len() >= min_len {
        free(aligned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn r(start: u64, end: u64) -> Range {
        Range { start, end }
    }

    fn free(ram: &[Range], reserved: &mut [Range], align: u64, min: u64) -> Vec<Range> {
        let mut out = Vec::new();
        for_each_free(ram, reserved, align, min, |f| out.push(f));
        out
    }

    #[test]
    fn no_reservations_gives_whole_ram() {
        assert_eq!(
            free(&[r(0x1000, 0x9000)], &mut [], 0x1000, 0),
            [r(0x1000, 0x9000)]
        );
    }

    #[test]
    fn reservations_split_ram_unsorted_and_overlapping() {
        let mut res = [
            r(0x7000, 0x8000),
            r(0x2000, 0x3000),
            r(0x2800, 0x4000),
            r(0, 0),
        ];
        assert_eq!(
            free(&[r(0x1000, 0x9000)], &mut res, 0x1000, 0),
            [r(0x1000, 0x2000), r(0x4000, 0x7000), r(0x8000, 0x9000)]
        );
    }

    #[test]
    fn reservations_outside_or_covering_ram() {
        let mut res = [r(0, 0x1000), r(0x10000, 0x20000)];
        assert_eq!(
            free(&[r(0x1000, 0x9000)], &mut res, 1, 0),
            [r(0x1000, 0x9000)]
        );
        let mut res = [r(0, 0x20000)];
        assert!(free(&[r(0x1000, 0x9000)], &mut res, 1, 0).is_empty());
    }

    #[test]
    fn alignment_and_minimum_length() {
        let mut res = [r(0x1800, 0x2100)];
        assert_eq!(
            free(&[r(0x1001, 0x5000)], &mut res, 0x1000, 0x2000),
            [r(0x3000, 0x5000)]
        );
    }

    #[test]
    fn several_ram_ranges() {
        let mut res = [r(0x1500, 0x2500)];
        assert_eq!(
            free(&[r(0x1000, 0x2000), r(0x2000, 0x3000)], &mut res, 0x100, 0),
            [r(0x1000, 0x1500), r(0x2500, 0x3000)]
        );
    }

    #[test]
    fn saturating_sizes() {
        let big = Range::with_size(u64::MAX - 10, 100);
        assert_eq!(big.end, u64::MAX);
        assert_eq!(Range::with_size(5, 10).len(), 10);
    }
}
