package pdf

// Test helpers of the package's internal tests, for its external tests.
var (
	OpenCatalog    = openCatalog
	SignatureDicts = signatureDicts
)
