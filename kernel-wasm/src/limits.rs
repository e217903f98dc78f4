//! Resource limits of one instance, and fuel-based pacing.
//!
//! - [`Limiter`] is the wasmi `ResourceLimiter` of every store: it enforces the memory and table
//!   limits of the instance, records peak usage for [`Stats`](crate::Stats), and, when a limit is
//!   hit, remembers which one so the instance stops with
//!   [`Error::LimitExceeded`] of the right [`LimitKind`] instead of
//!   a generic trap. It also carries the limits that host modules enforce themselves (spawned
//!   agents, mailbox depth), so a host function finds them in its `Caller<HostContext>`.
//! - [`Pacer`] turns a budget of credits into fuel, one credit at a time, so a scheduler can
//!   account for work in coarse units and an instance stops when its credits are spent.
//!
//! - [`Budget`] is a count of bytes shared by several owners within one limit: the linear
//!   memories of every instance of a runtime ([`RuntimeConfig::guest_memory`]), the queued
//!   messages of an agent system.
//!
//! Policy: exceeding a limit of ours *stops the instance* (wasmi raises the trap
//! `GrowthOperationLimited`, which the instance layer maps to `LimitExceeded`). Growth past the
//! maximum the module itself declares keeps the WebAssembly semantics: `memory.grow` returns -1;
//! so does growth the runtime's shared guest-memory budget cannot cover, as when the host is out
//! of memory (it is a property of the machine, not of the instance).
//!
//! [`RuntimeConfig::guest_memory`]: crate::RuntimeConfig::guest_memory

use alloc::format;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

use wasmi_core::LimiterError;

use crate::error::{Error, LimitKind};

/// Most table elements of an instance (all its tables together) unless configured otherwise
/// (`InstanceConfig::max_table_elements`, `kwasm run --max-table-elements`): far above what real
/// programs' function tables hold (tens of thousands), and 80 MB of host memory at most.
pub const DEFAULT_MAX_TABLE_ELEMENTS: usize = 10_000_000;

/// Host bytes one table element is charged to the runtime's guest-memory budget: wasmi keeps 4
/// bytes per element, in a vector that may reserve as much again while it grows.
pub const TABLE_ELEMENT_BYTES: usize = 8;

/// Fuel charged per unit of host work ([`Vfs::work`](crate::vfs::Vfs::work), about a
/// microsecond), at the rate of guest code: a default slice
/// ([`DEFAULT_SLICE_FUEL`](crate::instance::DEFAULT_SLICE_FUEL), 1 000 000 fuel) is about a
/// millisecond. A host call whose work costs more than its slice has left ends the slice at
/// once, so the time limit is checked right after it; the rest is charged to the budget.
pub const FUEL_PER_WORK: u64 = 1_000;

/// Fuel bought by one credit unless configured otherwise.
pub const DEFAULT_FUEL_PER_CREDIT: u64 = 1000;

/// Linear memories, tables and instances one store may hold. One instance per store; the counts
/// of memories and tables only bound the bookkeeping, the byte and element limits do the work.
const MAX_INSTANCES: usize = 1;
const MAX_MEMORIES: usize = 16;
const MAX_TABLES: usize = 64;

/// A limit that was hit: which one, its value, and what was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitHit {
    pub kind: LimitKind,
    pub limit: u64,
    /// The total the guest asked for (bytes of memory, elements of tables).
    pub requested: u64,
}

impl LimitHit {
    /// The error that stops the instance of `module`.
    pub fn to_error(self, module: &str) -> Error {
        let detail = match self.kind {
            LimitKind::Memory => format!(
                "{module} asked for {} bytes of linear memory, the limit is {} bytes",
                self.requested, self.limit
            ),
            LimitKind::Table => format!(
                "{module} asked for {} table elements, the limit is {}",
                self.requested, self.limit
            ),
            other => format!(
                "{module} asked for {} ({}), the limit is {}",
                self.requested,
                other.name(),
                self.limit
            ),
        };
        Error::LimitExceeded {
            kind: self.kind,
            limit: self.limit,
            detail,
        }
    }
}

/// A budget of bytes shared by several owners: each takes what it uses and gives it back.
#[derive(Debug)]
pub struct Budget {
    used: AtomicUsize,
    limit: usize,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Budget {
            used: AtomicUsize::new(0),
            limit,
        })
    }

    /// Bytes taken now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether `n` more bytes fit.
    pub fn has_room(&self, n: usize) -> bool {
        self.used().checked_add(n).is_some_and(|t| t <= self.limit)
    }

    /// Takes `n` bytes if they fit.
    pub fn take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(n).filter(|&t| t <= self.limit)
            })
            .is_ok()
    }

    /// Gives back `n` bytes taken earlier.
    pub fn give(&self, n: usize) {
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                Some(used.saturating_sub(n))
            });
    }
}

/// The `ResourceLimiter` of one instance's store (see the module documentation). Not `Clone`:
/// it holds the instance's share of the runtime's guest-memory budget, given back on drop.
#[derive(Debug, Default)]
pub struct Limiter {
    max_memory: Option<usize>,
    /// The runtime's guest-memory budget, shared by all its instances (`None`: unbounded).
    shared_memory: Option<Arc<Budget>>,
    max_table_elements: Option<usize>,
    /// Most agents this instance may spawn (enforced by the `agent` host module).
    pub spawn_limit: Option<u32>,
    /// Most messages queued in this instance's mailbox (enforced by the `agent` host module).
    pub mailbox_depth: Option<usize>,
    memory_bytes: usize,
    peak_memory_bytes: usize,
    table_elements: usize,
    peak_table_elements: usize,
    /// Growth allowed by the last `*_growing` call, undone if the engine then fails it.
    pending_memory: usize,
    pending_table: usize,
    hit: Option<LimitHit>,
    /// The last growth the shared guest-memory budget refused: bytes asked for (the reason an
    /// instantiation failed, if it did).
    shared_refused: Option<usize>,
}

impl Limiter {
    /// A limiter with these limits on total linear-memory bytes and total table elements.
    pub fn new(max_memory: Option<usize>, max_table_elements: Option<usize>) -> Self {
        let mut limiter = Limiter::default();
        limiter.max_memory = max_memory;
        limiter.max_table_elements = max_table_elements;
        limiter
    }

    /// Draws the instance's linear memory from `budget` too (shared with other instances).
    pub fn with_shared_memory(mut self, budget: Option<Arc<Budget>>) -> Self {
        self.shared_memory = budget;
        self
    }

    /// Why the shared guest-memory budget refused the last growth it refused: `(bytes asked
    /// for, in use by all instances, the budget)`; taking it clears it.
    pub fn take_shared_refusal(&mut self) -> Option<(usize, usize, usize)> {
        let asked = self.shared_refused.take()?;
        let budget = self.shared_memory.as_ref()?;
        Some((asked, budget.used(), budget.limit()))
    }

    /// The limit that stopped the instance, if one did; taking it clears it.
    pub fn take_hit(&mut self) -> Option<LimitHit> {
        self.hit.take()
    }

    /// Linear memory in use now, in bytes (all memories of the instance).
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// The most linear memory the instance ever had, in bytes.
    pub fn peak_memory_bytes(&self) -> usize {
        self.peak_memory_bytes.max(self.memory_bytes)
    }

    /// The most table elements the instance ever had (all tables).
    pub fn peak_table_elements(&self) -> usize {
        self.peak_table_elements.max(self.table_elements)
    }

    /// Checks one growth of a resource whose instance-wide total is `*total`: `Ok(false)` past
    /// the module's own maximum (WebAssembly semantics), an error past our limit.
    fn grow(
        kind: LimitKind,
        limit: Option<usize>,
        total: usize,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
        hit: &mut Option<LimitHit>,
    ) -> Result<Option<usize>, LimiterError> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(None);
        }
        let delta = desired.saturating_sub(current);
        let new_total = total.saturating_add(delta);
        if let Some(limit) = limit {
            if new_total > limit {
                *hit = Some(LimitHit {
                    kind,
                    limit: limit as u64,
                    requested: new_total as u64,
                });
                return Err(LimiterError::ResourceLimiterDeniedAllocation);
            }
        }
        Ok(Some(delta))
    }
}

impl wasmi::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let total = self.memory_bytes;
        match Self::grow(
            LimitKind::Memory,
            self.max_memory,
            total,
            current,
            desired,
            maximum,
            &mut self.hit,
        )? {
            None => Ok(false),
            // The machine's guest memory is spent: the growth fails as on a host out of memory.
            Some(delta) if !self.shared_memory.as_ref().is_none_or(|b| b.take(delta)) => {
                self.shared_refused = Some(delta);
                Ok(false)
            }
            Some(delta) => {
                // The peak takes in the previous total only: this growth may still fail.
                self.peak_memory_bytes = self.peak_memory_bytes.max(total);
                self.memory_bytes = total.saturating_add(delta);
                self.pending_memory = delta;
                Ok(true)
            }
        }
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let total = self.table_elements;
        match Self::grow(
            LimitKind::Table,
            self.max_table_elements,
            total,
            current,
            desired,
            maximum,
            &mut self.hit,
        )? {
            None => Ok(false),
            // Tables are host memory too: past the machine's guest-memory budget the growth
            // fails (-1), as memory growth does.
            Some(delta)
                if !self
                    .shared_memory
                    .as_ref()
                    .is_none_or(|b| b.take(delta.saturating_mul(TABLE_ELEMENT_BYTES))) =>
            {
                self.shared_refused = Some(delta.saturating_mul(TABLE_ELEMENT_BYTES));
                Ok(false)
            }
            Some(delta) => {
                self.peak_table_elements = self.peak_table_elements.max(total);
                self.table_elements = total.saturating_add(delta);
                self.pending_table = delta;
                Ok(true)
            }
        }
    }

    fn memory_grow_failed(
        &mut self,
        _error: &wasmi::errors::MemoryError,
    ) -> Result<(), LimiterError> {
        // The engine could not grow after we allowed it (out of host memory): undo the count.
        self.memory_bytes = self.memory_bytes.saturating_sub(self.pending_memory);
        if let Some(budget) = &self.shared_memory {
            budget.give(self.pending_memory);
        }
        self.pending_memory = 0;
        Ok(())
    }

    fn table_grow_failed(
        &mut self,
        _error: &wasmi::errors::TableError,
    ) -> Result<(), LimiterError> {
        self.table_elements = self.table_elements.saturating_sub(self.pending_table);
        if let Some(budget) = &self.shared_memory {
            budget.give(self.pending_table.saturating_mul(TABLE_ELEMENT_BYTES));
        }
        self.pending_table = 0;
        Ok(())
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        // The store and its memories go with the limiter.
        if let Some(budget) = &self.shared_memory {
            budget.give(self.memory_bytes);
            budget.give(self.table_elements.saturating_mul(TABLE_ELEMENT_BYTES));
        }
    }
}

/// A budget of credits spent as fuel, one whole credit at a time.
///
/// The instance asks for fuel when its fuel runs low ([`Pacer::draw`]); the pacer hands out the
/// fewest whole credits that cover the request, until the budget is spent. A scheduler may top
/// the budget up with [`Pacer::add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacer {
    fuel_per_credit: u64,
    credits_left: u64,
    credits_spent: u64,
}

impl Pacer {
    /// `credits` to spend, each worth `fuel_per_credit` fuel (at least 1).
    pub fn new(credits: u64, fuel_per_credit: u64) -> Self {
        Pacer {
            fuel_per_credit: fuel_per_credit.max(1),
            credits_left: credits,
            credits_spent: 0,
        }
    }

    pub fn fuel_per_credit(&self) -> u64 {
        self.fuel_per_credit
    }

    pub fn credits_left(&self) -> u64 {
        self.credits_left
    }

    pub fn credits_spent(&self) -> u64 {
        self.credits_spent
    }

    /// Spends the fewest whole credits that buy at least `fuel` (or every credit left) and
    /// returns the fuel they bought; 0 when the budget is spent.
    pub fn draw(&mut self, fuel: u64) -> u64 {
        let wanted = fuel.div_ceil(self.fuel_per_credit);
        let credits = wanted.min(self.credits_left);
        self.credits_left -= credits;
        self.credits_spent = self.credits_spent.saturating_add(credits);
        credits.saturating_mul(self.fuel_per_credit)
    }

    /// Gives back the whole credits contained in `unused_fuel` (fuel drawn but not consumed);
    /// returns the fuel those credits were worth, which the caller must no longer use.
    pub fn refund(&mut self, unused_fuel: u64) -> u64 {
        let credits = (unused_fuel / self.fuel_per_credit).min(self.credits_spent);
        self.credits_spent -= credits;
        self.credits_left = self.credits_left.saturating_add(credits);
        credits * self.fuel_per_credit
    }

    /// Spends `credits` directly (work the host does for the instance, not fuel); false, and
    /// nothing spent, when fewer are left.
    pub fn spend(&mut self, credits: u64) -> bool {
        if credits > self.credits_left {
            return false;
        }
        self.credits_left -= credits;
        self.credits_spent = self.credits_spent.saturating_add(credits);
        true
    }

    /// Adds `credits` to the budget.
    pub fn add(&mut self, credits: u64) {
        self.credits_left = self.credits_left.saturating_add(credits);
    }

    /// The error of an instance whose credits are spent.
    pub fn exhausted(&self, module: &str) -> Error {
        Error::LimitExceeded {
            kind: LimitKind::Credits,
            limit: self.credits_spent,
            detail: format!(
                "{module} spent all {} credits ({} fuel each)",
                self.credits_spent, self.fuel_per_credit
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;
    use wasmi::ResourceLimiter;

    use super::*;

    #[test]
    fn memory_limit_is_enforced_on_the_total_and_recorded() {
        let mut limiter = Limiter::new(Some(3 * 65536), None);
        assert!(matches!(limiter.memory_growing(0, 65536, None), Ok(true)));
        assert!(matches!(
            limiter.memory_growing(65536, 3 * 65536, None),
            Ok(true)
        ));
        assert_eq!(limiter.peak_memory_bytes(), 3 * 65536);
        assert!(limiter.memory_growing(3 * 65536, 4 * 65536, None).is_err());
        let hit = limiter.take_hit().expect("hit recorded");
        assert_eq!(hit.kind, LimitKind::Memory);
        assert_eq!(hit.limit, 3 * 65536);
        assert_eq!(hit.requested, 4 * 65536);
        assert_eq!(limiter.take_hit(), None);
        // The usage did not change on the refused growth.
        assert_eq!(limiter.memory_bytes(), 3 * 65536);
    }

    #[test]
    fn module_maximum_keeps_wasm_semantics() {
        let mut limiter = Limiter::new(Some(10 * 65536), None);
        assert!(matches!(
            limiter.memory_growing(0, 2 * 65536, Some(65536)),
            Ok(false)
        ));
        assert_eq!(limiter.take_hit(), None);
        assert_eq!(limiter.memory_bytes(), 0);
    }

    #[test]
    fn failed_growth_is_undone() {
        let mut limiter = Limiter::new(None, Some(10));
        assert!(matches!(limiter.table_growing(0, 4, None), Ok(true)));
        limiter
            .table_grow_failed(&wasmi::errors::TableError::OutOfSystemMemory)
            .expect("no error");
        // A growth that failed never counted toward the peak.
        assert_eq!(limiter.peak_table_elements(), 0);
        assert!(matches!(limiter.table_growing(0, 10, None), Ok(true)));
        assert!(limiter.table_growing(10, 11, None).is_err());
        assert_eq!(limiter.take_hit().map(|h| h.kind), Some(LimitKind::Table));
    }

    #[test]
    fn tables_draw_from_the_guest_memory_budget() {
        let budget = Budget::new(100 * TABLE_ELEMENT_BYTES);
        let mut a = Limiter::new(None, None).with_shared_memory(Some(budget.clone()));
        assert!(matches!(a.table_growing(0, 60, None), Ok(true)));
        assert_eq!(budget.used(), 60 * TABLE_ELEMENT_BYTES);
        // Past the budget: table.grow fails (-1), the instance is not stopped.
        assert!(matches!(a.table_growing(60, 101, None), Ok(false)));
        assert_eq!(a.take_hit(), None);
        assert_eq!(budget.used(), 60 * TABLE_ELEMENT_BYTES);
        assert!(matches!(a.table_growing(60, 100, None), Ok(true)));
        assert!(!budget.has_room(1));
        drop(a);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn instances_share_the_guest_memory_budget() {
        let budget = Budget::new(4 * 65536);
        let mut a = Limiter::new(None, None).with_shared_memory(Some(budget.clone()));
        let mut b = Limiter::new(None, None).with_shared_memory(Some(budget.clone()));
        assert!(matches!(a.memory_growing(0, 3 * 65536, None), Ok(true)));
        // Past the budget: memory.grow fails (-1), the instance is not stopped.
        assert!(matches!(b.memory_growing(0, 2 * 65536, None), Ok(false)));
        assert_eq!(b.take_hit(), None);
        assert!(matches!(b.memory_growing(0, 65536, None), Ok(true)));
        assert_eq!(budget.used(), 4 * 65536);
        // A growth the engine then fails is given back; so is everything on drop.
        b.memory_grow_failed(&wasmi::errors::MemoryError::OutOfSystemMemory)
            .expect("no error");
        assert_eq!(budget.used(), 3 * 65536);
        drop(a);
        assert_eq!(budget.used(), 0);
        assert!(budget.take(4 * 65536) && !budget.has_room(1));
        budget.give(usize::MAX);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn pacer_spends_whole_credits_until_the_budget_is_gone() {
        let mut pacer = Pacer::new(3, 1000);
        assert_eq!(pacer.draw(1), 1000);
        assert_eq!(pacer.draw(1500), 2000);
        assert_eq!(pacer.credits_left(), 0);
        assert_eq!(pacer.credits_spent(), 3);
        assert_eq!(pacer.draw(1), 0);
        assert_eq!(pacer.refund(2500), 2000);
        assert_eq!(pacer.credits_left(), 2);
        assert_eq!(pacer.credits_spent(), 1);
        pacer.add(5);
        assert_eq!(pacer.draw(u64::MAX), 7000);
        let err = pacer.exhausted("m").to_string();
        assert!(
            err.contains("credits") && err.contains("8 credits"),
            "{err}"
        );
    }

    #[test]
    fn pacer_never_divides_by_zero() {
        let mut pacer = Pacer::new(2, 0);
        assert_eq!(pacer.fuel_per_credit(), 1);
        assert_eq!(pacer.draw(5), 2);
    }
}
