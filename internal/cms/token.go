package cms

import (
	"errors"

	"github.com/roamsign/roamsign/internal/memo"
)

// Bounds of the memo of parsed time-stamp tokens: a token is kept when it
// is at most MaxMemoTokenSize bytes (tokens are a few KB), and at most
// MaxMemoTokens are kept, so the memo holds at most about 1 MiB whatever
// the input.
const (
	MaxMemoTokens    = 64
	MaxMemoTokenSize = 16 << 10
)

// tokenMemo remembers the time-stamp tokens parsed last, by their bytes: a
// token is parsed by the client that obtained and verified it, then again
// by the packages that embed it in a signature or a PDF.
var tokenMemo = memo.ByContent[parsedToken]{Max: MaxMemoTokens, MaxSize: MaxMemoTokenSize}

type parsedToken struct {
	sd  *SignedData
	tst *TSTInfo
}

// errNoTSTInfo marks a SignedData that encapsulates no TSTInfo, which
// ParseTimestampToken returns without error and does not remember.
var errNoTSTInfo = errors.New("no TSTInfo")

// ParseTimestampToken is [ParseSignedData] of an RFC 3161 time-stamp
// token of at most max bytes, then [ParseTSTInfo] of its encapsulated
// content when that is a TSTInfo. It returns:
//
//   - nil, nil and the error of ParseSignedData when the SignedData does
//     not parse;
//   - the SignedData, nil and nil when it encapsulates no TSTInfo (the
//     caller refuses it as it sees fit);
//   - the SignedData, nil and the error of ParseTSTInfo when the TSTInfo
//     does not parse;
//   - both when both parse.
//
// A token that parses in full is remembered by its bytes (see
// [MaxMemoTokens]), so that the same token is parsed once however many
// times it is read. The result may be shared with other callers: it must
// not be modified.
func ParseTimestampToken(op string, der []byte, max int) (*SignedData, *TSTInfo, error) {
	if len(der) > max {
		_, err := ParseSignedData(op, der, max) // refused for its size, remembered or not
		return nil, nil, err
	}
	t, err := tokenMemo.Remember(der, func(own []byte) (parsedToken, error) {
		sd, err := ParseSignedData(op, own, max)
		if err != nil {
			return parsedToken{}, err
		}
		if !sd.HasEContent || !sd.EContentType.Equal(OIDTSTInfo) {
			return parsedToken{sd: sd}, errNoTSTInfo
		}
		tst, err := ParseTSTInfo(sd.EContent)
		return parsedToken{sd, tst}, err
	})
	if errors.Is(err, errNoTSTInfo) {
		return t.sd, nil, nil
	}
	return t.sd, t.tst, err
}
