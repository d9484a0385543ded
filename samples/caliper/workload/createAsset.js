'use strict';

// Submits CreateAsset with an id unique to this run (WEFT_CALIPER_RUN, set by
// scripts/caliper.sh), worker and transaction.
const { WorkloadModuleBase } = require('@hyperledger/caliper-core');

class CreateAsset extends WorkloadModuleBase {
    constructor() {
        super();
        this.txIndex = 0;
    }

    async submitTransaction() {
        this.txIndex++;
        const id = `caliper_${process.env.WEFT_CALIPER_RUN || 0}_${this.workerIndex}_${this.txIndex}`;
        return this.sutAdapter.sendRequests({
            contractId: 'basic',
            contractFunction: 'CreateAsset',
            contractArguments: [id, 'blue', '5', 'Caliper', '100'],
            readOnly: false,
        });
    }
}

module.exports.createWorkloadModule = () => new CreateAsset();
