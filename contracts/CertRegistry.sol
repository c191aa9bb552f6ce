// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ICertRegistry} from "./interfaces/ICertRegistry.sol";

/// @title CertRegistry: agencies, their operators, signing keys and permitted credential types.
/// @notice Governance is DEFAULT_ADMIN_ROLE. See ICertRegistry and DESIGN.md ("Registry").
contract CertRegistry is ICertRegistry, AccessControl {
    /// Packed in one slot so that `operatorInfo` (the ledger's hot path) costs two cold SLOADs:
    /// operator -> agencyId, then agencyId -> this.
    struct AgencyInfo {
        uint32 index; // compact index from 1; lets the ledger store an anchor in one slot
        bool active;
        bool exists;
    }

    struct KeyInfo {
        bytes32 agencyId;
        uint64 validFrom;
        uint64 revokedAt; // 0: not revoked
    }

    mapping(address operator => bytes32 agencyId) private _operatorAgency;
    mapping(bytes32 agencyId => AgencyInfo) private _agencies;
    mapping(bytes32 agencyId => string) private _codes; // kept apart from AgencyInfo to keep that one slot
    mapping(uint32 index => bytes32 agencyId) private _agencyIdAt;
    uint32 private _agencyCount;
    mapping(bytes32 publicKey => KeyInfo) private _keys;
    mapping(bytes32 agencyId => mapping(bytes32 typeId => bool)) private _permitted;

    constructor(address admin) {
        if (admin == address(0)) revert ZeroAddress(); // an ungoverned registry could never be fixed
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc ICertRegistry
    function registerAgency(string calldata code) external onlyRole(DEFAULT_ADMIN_ROLE) returns (bytes32 agencyId) {
        if (!_isValidCode(bytes(code))) revert InvalidAgencyCode(code);
        agencyId = keccak256(bytes(code));
        if (_agencies[agencyId].exists) revert AgencyExists(agencyId);
        uint32 index = ++_agencyCount;
        _agencies[agencyId] = AgencyInfo({index: index, active: true, exists: true});
        _codes[agencyId] = code;
        _agencyIdAt[index] = agencyId;
        emit AgencyRegistered(agencyId, index, code);
    }

    /// @inheritdoc ICertRegistry
    function setAgencyActive(bytes32 agencyId, bool active) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireAgency(agencyId);
        _agencies[agencyId].active = active;
        emit AgencyActiveChanged(agencyId, active);
    }

    /// @inheritdoc ICertRegistry
    function addOperator(bytes32 agencyId, address operator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireAgency(agencyId);
        if (operator == address(0)) revert ZeroAddress();
        bytes32 current = _operatorAgency[operator];
        // One agency per operator, so the ledger can tell whose an operator is without an argument.
        if (current != bytes32(0)) revert OperatorAssigned(operator, current);
        _operatorAgency[operator] = agencyId;
        emit OperatorAdded(agencyId, operator);
    }

    /// @inheritdoc ICertRegistry
    function removeOperator(address operator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        bytes32 agencyId = _operatorAgency[operator];
        if (agencyId == bytes32(0)) revert UnknownOperator(operator);
        delete _operatorAgency[operator];
        emit OperatorRemoved(agencyId, operator);
    }

    /// @inheritdoc ICertRegistry
    function setTypePermitted(bytes32 agencyId, bytes32 typeId, bool permitted) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireAgency(agencyId);
        _permitted[agencyId][typeId] = permitted;
        emit TypePermissionChanged(agencyId, typeId, permitted);
    }

    // ------------------------------------------------------------------ governance or agency operator

    /// @inheritdoc ICertRegistry
    /// @dev Allowed for an inactive agency too: deactivation stops anchoring, not key management.
    function addKey(bytes32 agencyId, bytes32 publicKey, uint64 validFrom) external {
        _requireAgencyAuthority(agencyId);
        _requireAgency(agencyId);
        if (publicKey == bytes32(0)) revert ZeroKey();
        if (_keys[publicKey].agencyId != bytes32(0)) revert KeyExists(publicKey); // a key never changes owner
        uint64 from = validFrom == 0 ? uint64(block.timestamp) : validFrom;
        _keys[publicKey] = KeyInfo({agencyId: agencyId, validFrom: from, revokedAt: 0});
        emit KeyAdded(agencyId, publicKey, from);
    }

    /// @inheritdoc ICertRegistry
    /// @dev Revocation may only move earlier: a later time would re-validate credentials anchored in
    /// between, which is exactly what a compromise revocation must rule out. "Now" (0) on a key whose
    /// validFrom is still in the future is recorded as validFrom, i.e. the key never becomes valid.
    function revokeKey(bytes32 publicKey, uint64 revokedAt) external {
        KeyInfo storage key = _keys[publicKey];
        bytes32 agencyId = key.agencyId;
        if (agencyId == bytes32(0)) revert UnknownKey(publicKey);
        _requireAgencyAuthority(agencyId);
        uint64 validFrom = key.validFrom;
        uint64 at = revokedAt;
        if (at == 0) at = uint64(block.timestamp) < validFrom ? validFrom : uint64(block.timestamp);
        else if (at > block.timestamp || at < validFrom) revert InvalidRevocationTime(publicKey, at);
        uint64 current = key.revokedAt;
        if (current != 0 && at >= current) revert InvalidRevocationTime(publicKey, at);
        key.revokedAt = at;
        emit KeyRevoked(agencyId, publicKey, at);
    }

    // ------------------------------------------------------------------ reads

    /// @inheritdoc ICertRegistry
    function keyOf(bytes32 ed25519PublicKey) external view returns (bytes32 agencyId, uint64 validFrom, uint64 revokedAt) {
        KeyInfo storage key = _keys[ed25519PublicKey];
        return (key.agencyId, key.validFrom, key.revokedAt);
    }

    /// @inheritdoc ICertRegistry
    function isPermitted(bytes32 agencyId, bytes32 typeId) external view returns (bool) {
        return _permitted[agencyId][typeId];
    }

    /// @inheritdoc ICertRegistry
    /// @dev Zero when the address is not an operator.
    function agencyOf(address operator) external view returns (bytes32 agencyId) {
        return _operatorAgency[operator];
    }

    /// @inheritdoc ICertRegistry
    /// @dev All zero / empty when the agency does not exist.
    function agency(bytes32 agencyId) external view returns (bool exists, bool active, uint32 index, string memory code) {
        AgencyInfo storage info = _agencies[agencyId];
        return (info.exists, info.active, info.index, _codes[agencyId]);
    }

    /// @inheritdoc ICertRegistry
    /// @dev Zero for 0 or an index past agencyCount().
    function agencyIdAt(uint32 index) external view returns (bytes32 agencyId) {
        return _agencyIdAt[index];
    }

    /// @inheritdoc ICertRegistry
    function agencyCount() external view returns (uint32) {
        return _agencyCount;
    }

    /// @inheritdoc ICertRegistry
    /// @dev All zero when the address is not an operator.
    function operatorInfo(address operator) external view returns (bytes32 agencyId, uint32 index, bool active) {
        agencyId = _operatorAgency[operator];
        if (agencyId != bytes32(0)) {
            AgencyInfo storage info = _agencies[agencyId];
            (index, active) = (info.index, info.active);
        }
    }

    /// @dev Advertises ICertRegistry beside AccessControl's interfaces.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(ICertRegistry).interfaceId || super.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------ internals

    function _requireAgency(bytes32 agencyId) private view {
        if (!_agencies[agencyId].exists) revert UnknownAgency(agencyId);
    }

    /// Governance, or an operator of `agencyId` itself (never of another agency).
    function _requireAgencyAuthority(bytes32 agencyId) private view {
        bytes32 own = _operatorAgency[msg.sender];
        // `own == 0` matters: a non-operator must not pass for the (nonexistent) agency 0.
        if ((own == bytes32(0) || own != agencyId) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert NotAgencyOperator(msg.sender, agencyId);
        }
    }

    /// [a-z0-9-]{3,64}, as DESIGN.md requires; checked on chain so no off-chain tool can register a
    /// code that other implementations would reject.
    function _isValidCode(bytes calldata code) private pure returns (bool) {
        uint256 n = code.length;
        if (n < 3 || n > 64) return false;
        for (uint256 i; i < n; ++i) {
            bytes1 c = code[i];
            if (!((c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "-")) return false;
        }
        return true;
    }
}
