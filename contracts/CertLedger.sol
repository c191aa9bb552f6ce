// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ICertLedger} from "./interfaces/ICertLedger.sol";
import {ICertRegistry} from "./interfaces/ICertRegistry.sol";

/// @title CertLedger: anchored Merkle roots of credential batches and the status of each credential.
/// @notice See ICertLedger and DESIGN.md ("Merkle batch", "Anchor"). Gas targets: anchor <= 60k,
/// revoke with a 17-step proof <= 90k; the storage layout below exists to meet them.
contract CertLedger is ICertLedger {
    uint8 private constant ACTIVE = 0;
    uint8 private constant SUSPENDED = 1;
    uint8 private constant REVOKED = 2;

    /// One slot per root (a fresh anchor is a single zero->nonzero SSTORE). The agency is kept as the
    /// registry's compact index, not its 32-byte id, so that everything fits; index 0 = not anchored.
    struct Anchor {
        uint32 agencyIndex;
        uint64 timestamp;
        uint64 blockNumber;
        uint32 count;
    }

    /// One slot per credential digest (and per revoked root). Digests are public (citizens share
    /// bundles), so another agency could anchor a root of its own containing someone else's digest;
    /// the status therefore belongs to the agency whose root containing the digest was anchored
    /// first (`ownerIndex`, `ownerAnchorBlock`): only the signer knows a digest before its anchor.
    struct Status {
        uint8 state;
        uint8 reason;
        uint64 since;
        uint32 ownerIndex;
        uint64 ownerAnchorBlock;
    }

    /// Immutable, so the hot paths pay no SLOAD to find it.
    ICertRegistry private immutable _registry;
    mapping(bytes32 root => Anchor) private _anchors;
    mapping(bytes32 digest => Status) private _status;
    mapping(bytes32 root => Status) private _rootStatus;

    constructor(address registry_) {
        _registry = ICertRegistry(registry_);
    }

    // ------------------------------------------------------------------ writes

    /// @inheritdoc ICertLedger
    function anchor(bytes32 root, uint32 count) external {
        if (root == bytes32(0)) revert ZeroRoot();
        if (count == 0) revert EmptyBatch();
        // One external call gives agency, index and active flag (two cold SLOADs in the registry).
        (bytes32 agencyId, uint32 index, bool active) = _registry.operatorInfo(msg.sender);
        if (agencyId == bytes32(0)) revert NotOperator(msg.sender);
        if (!active) revert AgencyInactive(agencyId);
        if (_anchors[root].agencyIndex != 0) revert AlreadyAnchored(root); // anchor time must never move
        _anchors[root] = Anchor(index, uint64(block.timestamp), uint64(block.number), count);
        emit Anchored(agencyId, root, count, msg.sender);
    }

    /// @inheritdoc ICertLedger
    function revoke(bytes32 digest, bytes32 root, bytes32[] calldata proof, uint8 reason) external {
        (bytes32 agencyId, uint32 index) = _caller();
        _change(agencyId, index, digest, root, proof, REVOKED, reason);
    }

    /// @inheritdoc ICertLedger
    function suspend(bytes32 digest, bytes32 root, bytes32[] calldata proof, uint8 reason) external {
        (bytes32 agencyId, uint32 index) = _caller();
        _change(agencyId, index, digest, root, proof, SUSPENDED, reason);
    }

    /// @inheritdoc ICertLedger
    function reinstate(bytes32 digest, bytes32 root, bytes32[] calldata proof, uint8 reason) external {
        (bytes32 agencyId, uint32 index) = _caller();
        _change(agencyId, index, digest, root, proof, ACTIVE, reason);
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
    function revokeRoot(bytes32 root, uint8 reason) external {
        (bytes32 agencyId, uint32 index) = _caller();
        _requireRootOwner(root, agencyId, index);
        if (_rootStatus[root].state == REVOKED) revert RootRevoked(root); // final, and its time must not move
        _rootStatus[root] = Status(REVOKED, reason, uint64(block.timestamp), index, 0);
        emit RootStatusChanged(agencyId, root, REVOKED, reason);
    }

    // ------------------------------------------------------------------ reads

    /// @inheritdoc ICertLedger
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ICertLedger
    function anchorOf(bytes32 root) external view returns (bytes32 agencyId, uint64 timestamp, uint64 blockNumber) {
        Anchor memory a = _anchors[root];
        if (a.agencyIndex == 0) return (bytes32(0), 0, 0);
        return (_registry.agencyIdAt(a.agencyIndex), a.timestamp, a.blockNumber);
    }

    /// @inheritdoc ICertLedger
    function statusOf(bytes32 digest) external view returns (uint8 state, uint8 reason, uint64 since) {
        Status memory s = _status[digest];
        return (s.state, s.reason, s.since);
    }

    /// @inheritdoc ICertLedger
    function rootStatusOf(bytes32 root) external view returns (uint8 state, uint8 reason, uint64 since) {
        Status memory s = _rootStatus[root];
        return (s.state, s.reason, s.since);
    }

    /// @inheritdoc ICertLedger
    /// @dev Does not check that `digest` belongs to `root`; the verifier checks the proof itself.
    function credentialStatus(bytes32 digest, bytes32 root)
        external
        view
        returns (uint8 state, uint8 reason, uint64 since)
    {
        Status memory s = _rootStatus[root];
        if (s.state != REVOKED) s = _status[digest];
        return (s.state, s.reason, s.since);
    }

    // ------------------------------------------------------------------ internals

    /// The caller's agency; any operator, active agency or not (a deactivated agency must still be
    /// able to withdraw what it issued).
    function _caller() private view returns (bytes32 agencyId, uint32 index) {
        (agencyId, index,) = _registry.operatorInfo(msg.sender);
        if (agencyId == bytes32(0)) revert NotOperator(msg.sender);
    }

    /// The root was anchored, by the caller's agency: no agency can touch another's credentials.
    /// Returns the root's anchor block.
    function _requireRootOwner(bytes32 root, bytes32 agencyId, uint32 index) private view returns (uint64) {
        Anchor memory a = _anchors[root];
        if (a.agencyIndex == 0) revert RootNotAnchored(root);
        if (a.agencyIndex != index) revert NotRootOwner(root, agencyId);
        return a.blockNumber;
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
        (bytes32 agencyId, uint32 index) = _caller();
        for (uint256 i; i < n; ++i) {
            _change(agencyId, index, digests[i], roots[i], proofs[i], to, reason);
        }
    }

    /// Moves one credential to state `to` after proving it belongs to a root the caller's agency owns.
    function _change(
        bytes32 agencyId,
        uint32 index,
        bytes32 digest,
        bytes32 root,
        bytes32[] calldata proof,
        uint8 to,
        uint8 reason
    ) private {
        uint64 anchorBlock = _requireRootOwner(root, agencyId, index);
        // leaf = keccak256(digest), 32 bytes, while inner nodes hash 64: no leaf/node confusion.
        if (!MerkleProof.verifyCalldata(proof, root, keccak256(abi.encodePacked(digest)))) {
            revert InvalidProof(digest, root);
        }
        if (_rootStatus[root].state == REVOKED) revert RootRevoked(root);
        Status memory current = _status[digest];
        uint8 from = current.state;
        if (current.ownerIndex != 0 && current.ownerIndex != index) {
            // Another agency set this status; only an earlier anchor of the digest outranks it, and
            // then what that agency did never counted.
            if (anchorBlock >= current.ownerAnchorBlock) revert StatusOwnedByOtherAgency(digest);
            from = ACTIVE;
        } else if (current.ownerIndex == index && current.ownerAnchorBlock < anchorBlock) {
            anchorBlock = current.ownerAnchorBlock;
        }
        if (from == REVOKED) revert CredentialRevoked(digest); // revocation is final
        if (to == SUSPENDED && from == SUSPENDED) revert AlreadySuspended(digest);
        if (to == ACTIVE && from != SUSPENDED) revert NotSuspended(digest);
        _status[digest] = Status(to, reason, uint64(block.timestamp), index, anchorBlock);
        emit StatusChanged(agencyId, digest, to, reason);
    }
}
