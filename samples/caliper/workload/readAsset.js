'use strict';

// Evaluates ReadAsset of the assets the CreateAsset round created (this worker's).
const { WorkloadModuleBase } = require('@hyperledger/caliper-core');

class ReadAsset extends WorkloadModuleBase {
    constructor() {
        super();
        this.txIndex = 0;
    }

    async submitTransaction() {
        this.txIndex++;
        // The CreateAsset round's ids of this worker in this run: caliper_<run>_<worker>_<1..>.
        const n = ((this.txIndex - 1) % 1000) + 1;
        return this.sutAdapter.sendRequests({
            contractId: 'basic',
            contractFunction: 'ReadAsset',
            contractArguments: [`caliper_${process.env.WEFT_CALIPER_RUN || 0}_${this.workerIndex}_${n}`],
            readOnly: true,
        });
    }
}

module.exports.createWorkloadModule = () => new ReadAsset();
