/**
 * Error texts. The ones observed on the real service (fichier-api.md §7) are copied exactly; the
 * ones nobody has recorded are marked "simulator-chosen": their wording and number are ours, so a
 * client must rely only on the envelope (status/KO, HTTP status) for those, never on the text.
 */
export const MSG = {
  contentType: 'Content-Type not JSON #24',
  notAuthenticated: 'Not authenticated #247',
  noSuchUser: 'No such user #93',
  notCustomer: 'Must be a customer (Premium, Access) #200',
  floodUserInfo: 'Flood detected: IP Locked #38',
  flood: (code: number): string => `Flood detected: IP Locked #${code}`,
  notFound: 'Resource not found #469',
  notAllowed: 'Resource not allowed #631',
  passwordMissing: 'Password not provided. Resource not allowed #632',
  passwordInvalid: 'Invalid password. Resource not allowed #633',
  notRenamed: 'No file has been renamed #312',
  ownerLocked: 'Owner locked #620',
  // simulator-chosen below
  unknownEndpoint: 'Unknown API method #404',
  methodNotAllowed: 'Method not allowed #405',
  badJson: 'Invalid JSON in request body #25',
  badParameter: (what: string): string => `Invalid parameter: ${what} #26`,
  folderNotFound: 'Resource not found #470',
  invalidName: 'Invalid name #611',
  nameTooLong: 'Name too long #612',
  duplicateFolder: 'Another folder with the same name already exists #613',
  renameSameName: 'Destination name identical to the current name #614',
  renameNeedsOneUrl: 'Rename allowed with one file only #615',
  rootImmutable: 'The root folder cannot be changed #616',
  folderIntoItself: 'A folder cannot be moved into itself #617',
  sameFolderRename: 'No file has been moved #618',
  remoteNotFound: 'Remote request not found #640',
  /** Only the #93 is reported (users of other tools); the words are ours. */
  passwordLocked: 'Account locked after failed password attempts, reset the password #93',
} as const;
