// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ICertLedger} from "./interfaces/ICertLedger.sol";
import {ICertRegistry} from "./interfaces/ICertRegistry.sol";

/// @title CertLedger: anchored Merkle roots of credential batches and the status of each credential.
/// @notice See ICertLedger and the protocol v2 decisions ("Contracts v2"). Every record is keyed by
/// the agency first, and a write only ever reaches the caller's own agency's namespace (found from
/// msg.sender through the registry, never from an argument). Gas targets: anchor <= 60k, revoke
/// with a 17-step proof <= 90k; the storage layout below exists to meet them.
contract CertLedger is ICertLedger {
    uint8 private constant ACTIVE = 0;
    uint8 private constant SUSPENDED = 1;
    uint8 private constant REVOKED = 2;

    /// One slot per (agency, root): a fresh anchor is a single zero->nonzero SSTORE.
    /// blockNumber 0 = not anchored (no transaction is ever mined in block 0).
    struct Anchor {
        uint64 timestamp;
        uint64 blockNumber;
        uint32 count;
    }

    /// One slot per (agency, digest) and per (agency, root) for whole-batch revocations.
    struct Status {
        uint8 state;
        uint8 reason;
        uint64 since;
    }

    /// Immutable, so the hot paths pay no SLOAD to find it.
    ICertRegistry private immutable _registry;
    mapping(bytes32 agencyId => mapping(bytes32 root => Anchor)) private _anchors;
    mapping(bytes32 agencyId => mapping(bytes32 digest => Status)) private _status;
    mapping(bytes32 agencyId => mapping(bytes32 root => Status)) private _rootStatus;

    constructor(address registry_) {
        _registry = ICertRegistry(registry_);
    }

    // ------------------------------------------------------------------ writes

    /// @inheritdoc ICertLedger
    /// @dev The same root anchored by another agency, before or after, is a separate record: copying
    /// a root from the mempool and anchoring it first no longer blocks the rightful agency.
    function anchor(bytes32 root, uint32 count) external {
        if (root == bytes32(0)) revert ZeroRoot();
        if (count == 0) revert EmptyBatch();
        // One external call gives agency and active flag (two cold SLOADs in the registry).
        (bytes32 agencyId, bool active) = _registry.operatorInfo(msg.sender);
        if (agencyId == bytes32(0)) revert NotOperator(msg.sender);
        if (!active) revert AgencyInactive(agencyId);
        Anchor storage a = _anchors[agencyId][root];
        if (a.blockNumber != 0) revert AlreadyAnchored(agencyId, root); // anchor time must never move
        (a.timestamp, a.blockNumber, a.count) = (uint64(block.timestamp), uint64(block.number), count);
        emit Anchored(agencyId, root, count, msg.sender);
    }

    /// @inheritdoc ICertLedger
    function revoke(bytes32 digest, bytes32 root, bytes32[] calldata proof, uint8 reason) external {
        _change(_caller(), digest, root, proof, REVOKED, reason);
    }

    /// @inheritdoc ICertLedger
    function suspend(bytes32 digest, bytes32 root, bytes32[] calldata proof, uint8 reason) external {
        _change(_caller(), digest, root, proof, SUSPENDED, reason);
    }

    /// @inheritdoc ICertLedger
    function reinstate(bytes32 digest, bytes32 root, bytes32[] calldata proof, uint8 reason) external {
        _change(_caller(), digest, root, proof, ACTIVE, reason);
    }

    /// @inheritdoc ICertLedger
    function revokeMany(bytes32[] calldata digests, bytes32[] calldata roots, bytes32[][] calldata proofs, uint8 reason)
        external
    {
        _changeMany(digests, roots, proofs, REVOKED, reason);
    }

    /// @inheritdoc ICertLedger
    function suspendMany(bytes32[] calldata digests, bytes32[] calldata roots, bytes32[][] calldata proofs, uint8 reason)
        external
    {
        _changeMany(digests, roots, proofs, SUSPENDED, reason);
    }

    /// @inheritdoc ICertLedger
    function reinstateMany(
        bytes32[] calldata digests,
        bytes32[] calldata roots,
        bytes32[][] calldata proofs,
        uint8 reason
    ) external {
        _changeMany(digests, roots, proofs, ACTIVE, reason);
    }

    /// @inheritdoc ICertLedger
    /// @dev Only the caller's own record of the root: another agency that anchored the same root
    /// keeps its batch as it was.
    function revokeRoot(bytes32 root, uint8 reason) external {
        bytes32 agencyId = _caller();
        _requireAnchored(agencyId, root);
        Status storage s = _rootStatus[agencyId][root];
        if (s.state == REVOKED) revert RootRevoked(root); // final, and its time must not move
        (s.state, s.reason, s.since) = (REVOKED, reason, uint64(block.timestamp));
        emit RootStatusChanged(agencyId, root, REVOKED, reason);
    }

    // ------------------------------------------------------------------ reads

    /// @inheritdoc ICertLedger
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ICertLedger
    function anchorOf(bytes32 agencyId, bytes32 root)
        external
        view
        returns (uint64 timestamp, uint64 blockNumber, uint32 count)
    {
        Anchor storage a = _anchors[agencyId][root];
        return (a.timestamp, a.blockNumber, a.count);
    }

    /// @inheritdoc ICertLedger
    function statusOf(bytes32 agencyId, bytes32 digest) external view returns (uint8 state, uint8 reason, uint64 since) {
        Status storage s = _status[agencyId][digest];
        return (s.state, s.reason, s.since);
    }

    /// @inheritdoc ICertLedger
    function rootStatusOf(bytes32 agencyId, bytes32 root) external view returns (uint8 state, uint8 reason, uint64 since) {
        Status storage s = _rootStatus[agencyId][root];
        return (s.state, s.reason, s.since);
    }

    /// @inheritdoc ICertLedger
    /// @dev Does not check that `digest` belongs to `root`, nor that the root is anchored; the
    /// verifier checks the proof and reads anchorOf itself.
    function credentialStatus(bytes32 agencyId, bytes32 digest, bytes32 root)
        external
        view
        returns (uint8 state, uint8 reason, uint64 since)
    {
        Status storage s = _rootStatus[agencyId][root];
        if (s.state != REVOKED) s = _status[agencyId][digest];
        return (s.state, s.reason, s.since);
    }

    // ------------------------------------------------------------------ internals

    /// The caller's agency: the only namespace it may write. Any operator, active agency or not (a
    /// deactivated agency must still be able to withdraw what it issued).
    function _caller() private view returns (bytes32 agencyId) {
        (agencyId,) = _registry.operatorInfo(msg.sender);
        if (agencyId == bytes32(0)) revert NotOperator(msg.sender);
    }

    /// The root is anchored in `agencyId`'s namespace. Another agency's anchor of the same root does
    /// not count: it is that agency's batch, not this one's.
    function _requireAnchored(bytes32 agencyId, bytes32 root) private view {
        if (_anchors[agencyId][root].blockNumber == 0) revert RootNotAnchored(agencyId, root);
    }

    /// Same checks per element as the single-credential functions; one registry call for all.
    function _changeMany(
        bytes32[] calldata digests,
        bytes32[] calldata roots,
        bytes32[][] calldata proofs,
        uint8 to,
        uint8 reason
    ) private {
        uint256 n = digests.length;
        if (roots.length != n || proofs.length != n) revert LengthMismatch();
        bytes32 agencyId = _caller();
        for (uint256 i; i < n; ++i) {
            _change(agencyId, digests[i], roots[i], proofs[i], to, reason);
        }
    }

    /// Moves one credential of `agencyId` to state `to` after proving it belongs to a root anchored
    /// in that agency's namespace. The status written is `agencyId`'s alone: the same (public) digest
    /// in another agency's root has a status of its own there, which this never touches.
    function _change(bytes32 agencyId, bytes32 digest, bytes32 root, bytes32[] calldata proof, uint8 to, uint8 reason)
        private
    {
        _requireAnchored(agencyId, root);
        // leaf = keccak256(digest), 32 bytes, while inner nodes hash 64: no leaf/node confusion.
        if (!MerkleProof.verifyCalldata(proof, root, keccak256(abi.encodePacked(digest)))) {
            revert InvalidProof(digest, root);
        }
        if (_rootStatus[agencyId][root].state == REVOKED) revert RootRevoked(root);
        Status storage s = _status[agencyId][digest];
        uint8 from = s.state;
        if (from == REVOKED) revert CredentialRevoked(digest); // revocation is final
        if (to == SUSPENDED && from == SUSPENDED) revert AlreadySuspended(digest);
        if (to == ACTIVE && from != SUSPENDED) revert NotSuspended(digest);
        (s.state, s.reason, s.since) = (to, reason, uint64(block.timestamp));
        emit StatusChanged(agencyId, digest, to, reason);
    }
}
