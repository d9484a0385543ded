//! Blocks fetched from another consenter after a snapshot said this node is
//! behind: checked against the chain and written, then the blocks kept aside
//! while they were missing.

use super::*;

impl<S: ChannelStorage> Chain<S> {
    /// Writes blocks fetched from another orderer after a snapshot said this
    /// node is behind. Each must follow the previous one (hash chain); a block
    /// that does not is refused and nothing after it is written.
    pub fn catch_up(&mut self, blocks: &[Vec<u8>]) -> Result<u64, OrdererError> {
        let mut written = 0;
        for bytes in blocks {
            let block = decode_block(bytes)?;
            let height = self.store.height()?;
            let number = block.header.as_ref().map_or(u64::MAX, |h| h.number);
            if number < height {
                continue;
            }
            let prev = decode_block(
                &self
                    .store
                    .block(height - 1)?
                    .expect("height counts stored blocks"),
            )?;
            weft_common::block::check_link(&prev, &block)?;
            weft_common::block::check_data_hash(&block)?;
            self.store.append_block(number, bytes)?;
            let config = is_config_block(&block);
            if config {
                self.last_config = number;
                let changes = adopt_membership(&mut self.settings.membership, number, &block)?;
                if !changes.is_empty() {
                    self.events.push(ChainEvent::MembershipChanged(changes));
                }
            }
            self.record_written(number, &block, config);
            written += 1;
        }
        // Blocks committed while we were behind now follow the chain.
        for (number, bytes) in self.store.drain_stash()? {
            let mut block = decode_block(&bytes)?;
            let config = is_config_block(&block);
            if config {
                self.last_config = number;
            }
            sign_block(&mut block, self.last_config, Vec::new(), &self.signer)?;
            self.record_written(number, &block, config);
            written += 1;
        }
        Ok(written)
    }

    /// Remembers a fetched block's envelopes for deduplication and reports
    /// the block to the shell.
    fn record_written(&mut self, number: u64, block: &Block, config: bool) {
        let envelopes = envelope_digests(&[], &envelopes_of(block));
        self.block_written(&envelopes, config);
        self.events.push(ChainEvent::BlockWritten {
            number,
            envelopes,
            config,
        });
    }
}
